import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { Agent, readForm } from '../helpers/agent.ts';
import { skipReason } from '../helpers/backends.ts';
import { createTestClock } from '../helpers/clock.ts';
import { authorizationRequest, discoverRp, open, type RelyingParty } from '../helpers/rp.ts';
import { seedClient, seedUser } from '../helpers/seed.ts';
import { startSecondNode, startTestServer, type TestServer } from '../helpers/server.ts';

const skip = (skipReason('postgres') ?? skipReason('redis')) !== null;
const MINUTE = 60_000;

/**
 * Issue 11: a session lifetime an administrator shortens through node A ends, at once, the sessions
 * that node B serves. Both nodes run on one clock that starts 13 hours back (see
 * session-lifetimes.test.ts), so that it stays behind real time however far the test moves it.
 */
describe.skipIf(skip)('a session lifetime shortened through one node', () => {
  const clock = createTestClock(Date.now() - 13 * 60 * MINUTE);
  let a: TestServer;
  let b: TestServer;
  let rp: RelyingParty;

  beforeAll(async () => {
    a = await startTestServer('postgres+redis', { clock });
    b = await startSecondNode(a, { clock });
    rp = await discoverRp(a.issuer, await seedClient(a.app, { firstParty: true }));
  }, 120_000);
  afterAll(async () => {
    await b?.close();
    await a?.close();
  });

  const on = (node: TestServer, url: URL) => new URL(`${url.pathname}${url.search}`, node.url);

  /** prompt=none at `node` (OIDC Core §3.1.2.1): "code" while the session lives, else the error. */
  async function silentlyAt(node: TestServer, agent: Agent): Promise<string> {
    const request = await authorizationRequest(rp, { scope: 'openid', prompt: 'none' });
    const { searchParams } = (await open(agent, on(node, new URL(request.url)), rp.redirectUri)).url;
    return searchParams.get('error') ?? (searchParams.get('code') ? 'code' : 'nothing');
  }

  it('ends the sessions node B serves once they are older than the new maximum', async () => {
    const lea = await seedUser(a.app, { slug: 'lifetimes', email: 'lea@example.com' });
    const agent = new Agent();
    const request = await authorizationRequest(rp);
    const login = await open(agent, new URL(request.url), rp.redirectUri);
    const form = readForm(await login.response.text(), /\/login$/);
    const target = new URL(form.action, login.url);
    const signedIn = await agent.follow(
      await agent.request(target, { form: { _csrf: form.csrf, email: lea.user.email, password: lea.password } }),
      target,
      (next) => next.href.startsWith(rp.redirectUri),
    );
    expect(signedIn.url.searchParams.get('code')).toBeTruthy();
    // Active on B for 100 minutes: inside the 30-minute idle limit and the 12-hour maximum.
    for (let i = 0; i < 4; i++) {
      clock.advance(25 * MINUTE);
      expect(await silentlyAt(b, agent)).toBe('code');
    }

    const org = await a.app.services.organizations.requireOrganization('lifetimes');
    await a.app.services.organizations.updatePolicy(org, { sessionMaxHours: 1 }, { userId: null, actor: 'cli' });

    expect(await silentlyAt(b, agent)).toBe('login_required');
  });
});
