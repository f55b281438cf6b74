import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { ACR_MFA } from '../../src/domain/authentication.ts';
import { createAccessCodeDriver } from '../helpers/access-code.ts';
import { Browser, createAccountDriver, type Member } from '../helpers/account-driver.ts';
import { Agent } from '../helpers/agent.ts';
import { skipReason } from '../helpers/backends.ts';
import { createTestClock } from '../helpers/clock.ts';
import { discoverRp, exchange, type RelyingParty } from '../helpers/rp.ts';
import { seedClient } from '../helpers/seed.ts';
import { startTestServer, type Backend, type TestServer } from '../helpers/server.ts';

const scaleOutSkip = skipReason('postgres') ?? skipReason('redis');
const MINUTE = 60_000;

/**
 * What a temporary access code must never allow, on both backends: a second use (also by a burst
 * of concurrent sign-ins), a use after it expired, was replaced or belongs to someone else,
 * unthrottled guessing, or enrolment past it where an administrator made one.
 */
describe.each<Backend>(['sqlite', 'postgres+redis'])('temporary access codes on %s', (backend) => {
  const skip = backend === 'postgres+redis' && scaleOutSkip !== null;
  const clock = createTestClock(Date.now() - 7_200_000);
  let server: TestServer;
  let rp: RelyingParty;
  const accounts = createAccountDriver({ server: () => server, clock });
  const codes = createAccessCodeDriver({ server: () => server, rp: () => rp, clock, accounts });
  const { redirect } = accounts;
  let admin: Member;
  let people = 0;

  beforeAll(async () => {
    if (skip) return;
    server = await startTestServer(backend, { clock });
    rp = await discoverRp(server.issuer, await seedClient(server.app, { firstParty: true }));
    admin = await codes.adminOf('acme', 'grace@acme.example');
    await accounts.withFactors(admin);
  });
  afterAll(async () => server?.close());

  /** A person of acme whose only method (an authenticator app) is lost, with a code from the administrator. */
  async function personWithCode(lifetime = '60'): Promise<{ person: Member; code: string; admin: Browser }> {
    const person = await accounts.member(`lost-${(people += 1)}@acme.example`);
    await accounts.withFactors(person);
    const browser = await codes.freshAdmin(admin);
    return { person, code: await codes.issue(browser, person, lifetime), admin: browser };
  }

  async function signInWith(person: Member, code: string) {
    const agent = new Agent();
    const { uid } = await codes.passwordStep(agent, person);
    return { agent, uid, response: await codes.submitCode(agent, uid, code) };
  }

  it.skipIf(skip)('a used code is neither offered nor accepted at the next sign-in', async () => {
    const { person, code } = await personWithCode();
    expect(redirect((await signInWith(person, code)).response)).toMatch(/^303 \/interaction\/[^/]+\/enrol$/);
    const agent = new Agent();
    const { uid } = await codes.passwordStep(agent, person);
    expect(await codes.offered(agent, uid)).toBe(false);
    const replay = await codes.submitCode(agent, uid, code);
    expect(replay.status).toBe(401);
    expect(await replay.text()).toContain('it has expired or was already used');
  });

  it.skipIf(skip)('of a burst of concurrent sign-ins with the same code, exactly one gets through', async () => {
    const { person, code } = await personWithCode();
    const agents = Array.from({ length: 6 }, () => new Agent());
    const uids: string[] = [];
    for (const agent of agents) uids.push((await codes.passwordStep(agent, person)).uid);
    const responses = await Promise.all(agents.map((agent, i) => codes.submitCode(agent, uids[i]!, code)));
    const statuses = responses.map((r) => r.status);
    expect(statuses.filter((s) => s === 303)).toHaveLength(1);
    // The others were refused (401) or found another attempt for the account in flight (429).
    expect(statuses.every((s) => [303, 401, 429].includes(s))).toBe(true);
    // Once the burst is over, the code is spent: the next sign-in does not offer it.
    const next = new Agent();
    expect(await codes.offered(next, (await codes.passwordStep(next, person)).uid)).toBe(false);
  });

  it.skipIf(skip)('expires: refused after its lifetime, even on a page opened before', async () => {
    const { person, code } = await personWithCode('15');
    clock.advance(14 * MINUTE);
    const agent = new Agent();
    const { uid } = await codes.passwordStep(agent, person);
    expect(await codes.offered(agent, uid)).toBe(true);
    clock.advance(MINUTE);
    const late = await codes.submitCode(agent, uid, code);
    expect(late.status).toBe(401);
    expect(await codes.offered(agent, uid)).toBe(false);
  });

  it.skipIf(skip)('a newer code replaces the waiting one', async () => {
    const { person, code: older, admin: browser } = await personWithCode();
    const newer = await codes.issue(browser, person);
    expect((await signInWith(person, older)).response.status).toBe(401);
    expect(redirect((await signInWith(person, newer)).response)).toMatch(/\/enrol$/);
  });

  it.skipIf(skip)("one person's code proves nobody else", async () => {
    const { code } = await personWithCode();
    const { person: other } = await personWithCode();
    expect((await signInWith(other, code)).response.status).toBe(401);
  });

  it.skipIf(skip)('wrong codes are slowed down per account, and the right one still works after the wait', async () => {
    const { person, code } = await personWithCode();
    const agent = new Agent();
    const { uid } = await codes.passwordStep(agent, person);
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) statuses.push((await codes.submitCode(agent, uid, 'AAAA-BBBB-CCCC')).status);
    expect(statuses).toEqual([401, 401, 401, 401, 401, 429]);
    const waiting = await codes.submitCode(agent, uid, code);
    expect(waiting.status).toBe(429);
    clock.advanceSeconds(Number(waiting.headers.get('retry-after')));
    expect(redirect(await codes.submitCode(agent, uid, code))).toBe(`303 /interaction/${uid}/enrol`);
  });

  it.skipIf(skip)(
    'where the organization requires TFA, a person without a method must prove a waiting code before enrolling',
    async () => {
      const strictAdmin = await codes.adminOf('strict', 'sam@strict.example', { enforceTfa: true });
      await accounts.withFactors(strictAdmin);
      const person = await accounts.member('new@strict.example', 'strict');
      const code = await codes.issue(await codes.freshAdmin(strictAdmin), person);

      const agent = new Agent();
      const { request, page, uid } = await codes.passwordStep(agent, person);
      expect(page.url.pathname).toBe(`/interaction/${uid}/verify`);
      expect(await page.response.text()).toMatch(/<form method="post" action="[^"]*\/verify\/access-code"/);
      // The password alone no longer opens enrolment.
      expect((await agent.request(accounts.url(`/interaction/${uid}/enrol`))).status).toBe(400);

      const proven = await codes.submitCode(agent, uid, code);
      expect(redirect(proven)).toBe(`303 /interaction/${uid}/enrol`);
      const enrol = await agent.follow(proven, accounts.url(`/interaction/${uid}/verify/access-code`));
      const claims = (await exchange(rp, await codes.enrolAndFinish(agent, enrol), request)).claims()!;
      expect(claims.acr).toBe(ACR_MFA);
      expect(claims.amr).toEqual(['pwd', 'otp', 'mfa']);
    },
  );
});
