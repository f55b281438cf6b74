import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { Agent, readForm } from '../helpers/agent.ts';
import { skipReason } from '../helpers/backends.ts';
import { createTestClock } from '../helpers/clock.ts';
import {
  ANSWER_BOUND_MS,
  createDatabase,
  expectUnavailable,
  startServerBehindProxies,
  timed,
  waitUntilReady,
  type ServerBehindProxies,
} from '../helpers/outages.ts';
import { authorizationRequest, discoverRp, exchange, open, submitLogin, type RelyingParty } from '../helpers/rp.ts';
import { enrolTotp, seedClient, seedUser } from '../helpers/seed.ts';
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
  let env: ServerBehindProxies;
  let rp: RelyingParty;
  let client: { clientId: string; clientSecret: string | null; redirectUri: string };

  beforeAll(async () => {
    env = await startServerBehindProxies({ clock });
    client = await seedClient(env.server.app, { firstParty: true });
    rp = await discoverRp(env.server.issuer, client);
  });
  afterAll(async () => env?.close());

  const issuer = () => env.server.issuer;
  const authorizationPage = async () =>
    fetch((await authorizationRequest(rp)).url, { headers: { accept: 'text/html' } });
  /** Client authentication at the token endpoint reads the client from the database. */
  const tokenRequest = () =>
    fetch(`${issuer()}/token`, {
      method: 'POST',
      headers: {
        authorization: `Basic ${Buffer.from(`${client.clientId}:${client.clientSecret}`).toString('base64')}`,
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: new URLSearchParams({
        grant_type: 'authorization_code',
        code: 'a-code-nobody-was-given',
        redirect_uri: client.redirectUri,
        code_verifier: 'v'.repeat(43),
      }),
    });

  async function expectServed() {
    await waitUntilReady(issuer());
    const agent = new Agent();
    const login = await open(agent, (await authorizationRequest(rp)).url, rp.redirectUri);
    expect(login.response.status).toBe(200);
    const token = await tokenRequest();
    expect([token.status, ((await token.json()) as { error: string }).error]).toEqual([400, 'invalid_grant']);
  }

  for (const [outage, begin] of [
    ['stopped (connections refused)', () => env.postgres.refuse()],
    ['stalled (connections open, nothing answered)', async () => env.postgres.stall()],
  ] as const) {
    it(`PostgreSQL ${outage}: a page, a protocol endpoint and /readyz answer 503 with Retry-After, then all recover`, async () => {
      await expectServed();
      await begin();
      await expectUnavailable(authorizationPage, 'page');
      await expectUnavailable(tokenRequest, 'json');
      const { response, ms } = await timed(() => fetch(`${issuer()}/readyz`));
      expect(response.status).toBe(503);
      expect(await response.json()).toMatchObject({ checks: { database: 'unavailable', redis: 'ok' } });
      expect(ms).toBeLessThan(ANSWER_BOUND_MS);
      await env.postgres.restore();
      await expectServed();
    });
  }

  it('an authenticator code sent while PostgreSQL is down is not accepted; once back, it is accepted once', async () => {
    const seeded = await seedUser(env.server.app, { email: 'totp-database-outage@example.com' });
    const { secret } = await enrolTotp(env.server.app, seeded, clock.now());
    clock.advance(30_000);
    const code = totpAt(secret, clock.now() / 1000);

    const signIn = async () => {
      const agent = new Agent();
      const request = await authorizationRequest(rp);
      const login = await open(agent, request.url, rp.redirectUri);
      const page = await submitLogin(agent, login, seeded.user.email, seeded.password, rp.redirectUri);
      const html = await page.response.text();
      const factorId = /name="factorId" value="([^"]+)"/.exec(html)![1]!;
      const form = readForm(html, /\/verify\/[a-z]+$/);
      const target = new URL(form.action, page.url);
      const submit = () => agent.request(target, { form: { _csrf: form.csrf, factorId, code } });
      return { agent, request, target, submit };
    };
    const first = await signIn();

    await env.postgres.refuse();
    await expectUnavailable(first.submit, 'page');
    await env.postgres.restore();
    await waitUntilReady(issuer());

    const accepted = await first.agent.follow(await first.submit(), first.target, (url) =>
      url.href.startsWith(rp.redirectUri),
    );
    expect((await exchange(rp, accepted.url, first.request)).claims()!.amr).toContain('otp');
    // Its single use was recorded once the database was back: the same code does not work twice.
    const replay = await (await signIn()).submit();
    expect(replay.status).toBe(401);
  });
});
