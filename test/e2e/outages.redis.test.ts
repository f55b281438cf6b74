import { describe, expect, it } from 'vitest';

import { StoreUnavailableError } from '../../src/ports/store-unavailable.ts';
import { skipReason } from '../helpers/backends.ts';
import { createTestClock } from '../helpers/clock.ts';
import {
  ANSWER_BOUND_MS,
  expectUnavailable,
  timed,
  useServerBehindProxies,
  waitUntilReady,
} from '../helpers/outages.ts';
import { exchange } from '../helpers/rp.ts';
import { enrolTotp, seedUser } from '../helpers/seed.ts';
import { totpAt } from '../helpers/totp.ts';

const skip = (skipReason('postgres') ?? skipReason('redis')) !== null;

/**
 * Issue 11, resilience: Redis stops or stalls under a running node. Requests that need it answer
 * 503 with Retry-After within a bound (never 500, never hanging), nothing fails open, and the node
 * recovers by itself once Redis is back.
 */
describe.skipIf(skip)('Redis stopping or stalling under a running node', () => {
  const clock = createTestClock();
  const suite = useServerBehindProxies(clock);
  const { issuer, authorizationPage, tokenRequest, expectServed, codeStep } = suite;

  async function expectReadyzReports(store: 'redis' | 'database') {
    const { response, ms } = await timed(() => fetch(`${issuer()}/readyz`));
    expect(response.status).toBe(503);
    expect(response.headers.get('retry-after')).not.toBeNull();
    expect(((await response.json()) as { checks: Record<string, string> }).checks[store]).toBe('unavailable');
    expect(ms).toBeLessThan(ANSWER_BOUND_MS);
  }

  for (const [outage, begin] of [
    ['stopped (connections refused)', () => suite.env().redis.refuse()],
    ['stalled (connections open, nothing answered)', async () => suite.env().redis.stall()],
  ] as const) {
    it(`Redis ${outage}: a page, a protocol endpoint and /readyz answer 503 with Retry-After, then all recover`, async () => {
      await expectServed();
      await begin();
      await expectUnavailable(authorizationPage, 'page');
      await expectUnavailable(tokenRequest, 'json');
      await expectReadyzReports('redis');
      await suite.env().redis.restore();
      await expectServed();
    });
  }

  it('an authenticator code sent while Redis is down is refused, not accepted, and the attempt budget is intact after', async () => {
    const seeded = await seedUser(suite.env().server.app, { email: 'totp-outage@example.com' });
    const { secret } = await enrolTotp(suite.env().server.app, seeded, clock.now());
    clock.advance(30_000);
    const { agent, request, target, submit } = await codeStep(seeded.user.email, seeded.password);
    const free = suite.env().server.app.config.throttle.account.freeAttempts;
    for (let i = 0; i < free - 1; i++) expect((await submit('000000')).status).toBe(401);

    await suite.env().redis.refuse();
    const right = totpAt(secret, clock.now() / 1000);
    await expectUnavailable(() => submit(right), 'page');
    for (let i = 0; i < 3; i++) await expectUnavailable(() => submit('000000'), 'page');

    await suite.env().redis.restore();
    await waitUntilReady(issuer());
    // One failure was left before a delay: the outage neither forgave the earlier ones nor counted its own.
    expect((await submit('000000')).status).toBe(401);
    const delayed = await submit(right);
    expect(delayed.status).toBe(429);
    expect(Number(delayed.headers.get('retry-after'))).toBeGreaterThan(0);

    // Once the delay has run, the code (never accepted during the outage) signs the person in.
    clock.advance(2000);
    const accepted = await agent.follow(await submit(right), target, (url) =>
      url.href.startsWith(suite.rp().redirectUri),
    );
    expect(accepted.url.href.startsWith(suite.rp().redirectUri)).toBe(true);
    expect((await exchange(suite.rp(), accepted.url, request)).claims()!.amr).toContain('otp');
  });

  it('a password check while Redis is down is refused, and the failures it would count are intact after', async () => {
    const seeded = await seedUser(suite.env().server.app, { email: 'password-outage@example.com' });
    const accounts = suite.env().server.app.services.accounts;
    const attempt = (password: string) =>
      accounts.verifyPassword({ email: seeded.user.email, password, ip: '192.0.2.40' });
    const free = suite.env().server.app.config.throttle.account.freeAttempts;
    for (let i = 0; i < free - 1; i++) expect(await attempt('not the password')).toMatchObject({ ok: false });

    await suite.env().redis.refuse();
    // The throttle cannot be read: the right password is not let through unchecked, the wrong one not let off.
    await expect(attempt(seeded.password)).rejects.toBeInstanceOf(StoreUnavailableError);
    await expect(attempt('not the password')).rejects.toBeInstanceOf(StoreUnavailableError);

    await suite.env().redis.restore();
    await waitUntilReady(issuer());
    expect(await attempt('not the password')).toEqual({ ok: false, reason: 'invalid_credentials' });
    expect(await attempt(seeded.password)).toMatchObject({ ok: false, reason: 'throttled' });
    clock.advance(2000);
    expect(await attempt(seeded.password)).toMatchObject({ ok: true });
  });
});
