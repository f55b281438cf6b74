import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { Agent, readForm } from '../helpers/agent.ts';
import { skipReason } from '../helpers/backends.ts';
import { createTestClock } from '../helpers/clock.ts';
import { authorizationRequest, discoverRp, open, type RelyingParty } from '../helpers/rp.ts';
import { PASSWORD, seedClient, seedUser, type Seeded } from '../helpers/seed.ts';
import { startTestServer, type Backend, type TestServer } from '../helpers/server.ts';

const scaleOutSkip = skipReason('postgres') ?? skipReason('redis');
type Page = { response: Response; url: URL };

/**
 * Issue 11: a busy address is not a failing address. An office behind one NAT sends many correct
 * sign-ins at once; once its address has some failures, the per-address cap used to let one
 * password check run at a time and refuse the rest with 429. Now they wait their turn, and only
 * failures are rationed: the address's failure budget and its delays hold as before.
 */
describe.each<Backend>(['sqlite', 'postgres+redis'])('a busy address on %s', (backend) => {
  const skip = backend === 'postgres+redis' && scaleOutSkip !== null;
  let server: TestServer;
  let rp: RelyingParty;

  beforeAll(async () => {
    if (skip) return;
    // The clock stands still: the delay after the last failure is still running when the test looks.
    // A small address budget keeps the test short; the default (50) behaves alike.
    server = await startTestServer(backend, {
      clock: createTestClock(),
      overrides: { throttle: { ip: { freeAttempts: 10 } } },
    });
    rp = await discoverRp(server.issuer, await seedClient(server.app, { firstParty: true }));
  });
  afterAll(async () => server?.close());

  async function loginPage(agent: Agent): Promise<Page> {
    return open(agent, (await authorizationRequest(rp)).url, rp.redirectUri);
  }

  async function postLogin(agent: Agent, page: Page, html: string, email: string, password: string) {
    const form = readForm(html, /\/login$/);
    const target = new URL(form.action, page.url);
    const response = await agent.request(target, { form: { _csrf: form.csrf, email, password } });
    return { response, target };
  }

  /** Wrong passwords from this (the test's) address, one after the other, on one sign-in page. */
  async function failFromThisAddress(times: number, tag: string) {
    const agent = new Agent();
    const page = await loginPage(agent);
    let html = await page.response.text();
    for (let i = 0; i < times; i++) {
      const { response } = await postLogin(agent, page, html, `nobody-${tag}-${i}@example.com`, 'not a password');
      expect(response.status).toBe(401);
      html = await response.text();
    }
    return { agent, page, html };
  }

  it.skipIf(skip)(
    'many correct sign-ins at once from an address with failures all succeed, taking turns; failures stay rationed',
    async () => {
      const free = server.app.config.throttle.ip.freeAttempts;
      const people: Seeded[] = [];
      for (let i = 0; i < 8; i++)
        people.push(await seedUser(server.app, { email: `office-${backend}-${i}@example.com` }));
      // One failure short of the address's free attempts: room for one check at a time.
      const failing = await failFromThisAddress(free - 1, backend);

      const agents = people.map(() => new Agent());
      const pages = await Promise.all(agents.map(async (agent) => ({ agent, page: await loginPage(agent) })));
      const signedIn = await Promise.all(
        pages.map(async ({ agent, page }, i) => {
          const { response, target } = await postLogin(
            agent,
            page,
            await page.response.text(),
            people[i]!.user.email,
            PASSWORD,
          );
          const end = await agent.follow(response, target, (url) => url.href.startsWith(rp.redirectUri));
          return { status: response.status, ended: `${end.response.status} ${end.url.pathname}` };
        }),
      );
      expect(signedIn.filter((s) => s.status === 429)).toEqual([]);
      expect(signedIn.filter((s) => !s.ended.endsWith(new URL(rp.redirectUri).pathname))).toEqual([]);

      // The correct sign-ins spent none of the budget: one more failure is still checked ...
      const last = await postLogin(failing.agent, failing.page, failing.html, 'nobody-last@example.com', 'wrong');
      expect(last.response.status).toBe(401);
      // ... and then the address must wait, correct password or not (a guess cannot tell them apart).
      const next = await postLogin(
        failing.agent,
        failing.page,
        await last.response.text(),
        people[0]!.user.email,
        PASSWORD,
      );
      expect(next.response.status).toBe(429);
      expect(Number(next.response.headers.get('retry-after'))).toBeGreaterThan(0);
    },
  );
});
