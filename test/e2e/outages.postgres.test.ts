import { describe, expect, it } from 'vitest';

import { skipReason } from '../helpers/backends.ts';
import { createTestClock } from '../helpers/clock.ts';
import {
  ANSWER_BOUND_MS,
  createDatabase,
  expectUnavailable,
  timed,
  useServerBehindProxies,
  waitUntilReady,
} from '../helpers/outages.ts';
import { exchange } from '../helpers/rp.ts';
import { enrolTotp, seedUser } from '../helpers/seed.ts';
import { startTcpProxy } from '../helpers/tcp-proxy.ts';
import { totpAt } from '../helpers/totp.ts';
import { startTwofoldProcess } from '../helpers/twofold-process.ts';

const skip = (skipReason('postgres') ?? skipReason('redis')) !== null;

/**
 * Issue 11, resilience: PostgreSQL restarts, stops or stalls under a running node. The process
 * survives its connections being closed, requests that need the database answer 503 with
 * Retry-After within a bound (never 500, never hanging), and it recovers by itself.
 */
describe.skipIf(skip)('PostgreSQL closing its connections (a restart), with node src/main.ts', () => {
  it('does not end the process: the next requests are served on new connections', async () => {
    const database = await createDatabase();
    const proxy = await startTcpProxy(database.url);
    const server = await startTwofoldProcess({ DATABASE_URL: proxy.url, REDIS_URL: '' });
    const home = async () => (await fetch(`${server.url}/`)).status;
    try {
      // Several connections open and idle in the pool (the home page reads the database).
      expect(await Promise.all(Array.from({ length: 8 }, home))).toEqual(Array(8).fill(200));

      // The server ends them (57P01 terminating connection due to administrator command) ...
      expect(await database.terminateConnections()).toBeGreaterThan(0);
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(server.child.exitCode).toBeNull();
      expect(await Promise.all(Array.from({ length: 4 }, home))).toEqual(Array(4).fill(200));

      // ... or the network drops them without a word.
      proxy.cut();
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(server.child.exitCode).toBeNull();
      expect(await Promise.all(Array.from({ length: 4 }, home))).toEqual(Array(4).fill(200));
      expect((await fetch(`${server.url}/readyz`)).status).toBe(200);
      // The node noticed and said so.
      expect(server.output()).toContain('store connection failed');
    } finally {
      await server.stop();
      await proxy.close();
      await database.drop();
    }
  });
});

describe.skipIf(skip)('PostgreSQL stopping or stalling under a running node', () => {
  const clock = createTestClock();
  const suite = useServerBehindProxies(clock);
  const { issuer, loginForm, tokenRequest, expectServed, codeStep } = suite;

  for (const [outage, begin] of [
    ['stopped (connections refused)', () => suite.env().postgres.refuse()],
    ['stalled (connections open, nothing answered)', async () => suite.env().postgres.stall()],
  ] as const) {
    it(`PostgreSQL ${outage}: a page, a protocol endpoint and /readyz answer 503 with Retry-After, then all recover`, async () => {
      await expectServed();
      const login = await loginForm();
      await begin();
      // A password checked against the database, and a client the node has not read yet.
      await expectUnavailable(() => login.submit('nobody@example.com', 'not a password at all'), 'page');
      await expectUnavailable(() => tokenRequest(`not-read-yet-${outage.length}`), 'json');
      const { response, ms } = await timed(() => fetch(`${issuer()}/readyz`));
      expect(response.status).toBe(503);
      expect(await response.json()).toMatchObject({ checks: { database: 'unavailable', redis: 'ok' } });
      expect(ms).toBeLessThan(ANSWER_BOUND_MS);
      await suite.env().postgres.restore();
      await expectServed();
    });
  }

  it('an authenticator code sent while PostgreSQL is down is not accepted; once back, it is accepted once', async () => {
    const seeded = await seedUser(suite.env().server.app, { email: 'totp-database-outage@example.com' });
    const { secret } = await enrolTotp(suite.env().server.app, seeded, clock.now());
    clock.advance(30_000);
    const code = totpAt(secret, clock.now() / 1000);

    const signIn = () => codeStep(seeded.user.email, seeded.password);
    const first = await signIn();

    await suite.env().postgres.refuse();
    await expectUnavailable(() => first.submit(code), 'page');
    await suite.env().postgres.restore();
    await waitUntilReady(issuer());

    const accepted = await first.agent.follow(await first.submit(code), first.target, (url) =>
      url.href.startsWith(suite.rp().redirectUri),
    );
    expect((await exchange(suite.rp(), accepted.url, first.request)).claims()!.amr).toContain('otp');
    // Its single use was recorded once the database was back: the same code does not work twice.
    const replay = await (await signIn()).submit(code);
    expect(replay.status).toBe(401);
  });
});
