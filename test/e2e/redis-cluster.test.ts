import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { skipReason } from '../helpers/backends.ts';
import { expectUnavailable, timed, waitUntilReady, ANSWER_BOUND_MS } from '../helpers/outages.ts';
import { clusterSkipReason, startRedisCluster, type RedisCluster } from '../helpers/redis-cluster.ts';
import { Agent } from '../helpers/agent.ts';
import { authorizationRequest, discoverRp, open, signInForTokens, type RelyingParty } from '../helpers/rp.ts';
import { enrolTotp, seedClient, seedUser } from '../helpers/seed.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { totpAt } from '../helpers/totp.ts';

const skip = (skipReason('postgres') ?? clusterSkipReason()) !== null;

/**
 * Issue 11, scale-out on Redis Cluster: a node on PostgreSQL and a real three-master Redis Cluster
 * signs a person in with password and TOTP, and when a master stalls and the cluster fails,
 * requests answer 503 with Retry-After (never 500, nothing fails open) and recover by themselves.
 */
describe.skipIf(skip)('a node on PostgreSQL and a Redis Cluster', () => {
  let cluster: RedisCluster;
  let server: TestServer;
  let rp: RelyingParty;

  beforeAll(async () => {
    cluster = await startRedisCluster();
    server = await startTestServer('postgres+redis', {
      overrides: {
        redis: { url: null, cluster: { nodes: [cluster.urls[0]] }, connectTimeoutMs: 2000, commandTimeoutMs: 2000 },
      },
    });
    rp = await discoverRp(server.issuer, await seedClient(server.app, { firstParty: true }));
  });
  afterAll(async () => {
    await server?.close();
    await cluster?.stop();
  });

  const authorizationPage = async () =>
    fetch((await authorizationRequest(rp)).url, { headers: { accept: 'text/html' } });

  it('finds every master from one node URL and signs a person in with password and authenticator code', async () => {
    expect((await fetch(`${server.issuer}/readyz`)).status).toBe(200);
    const seeded = await seedUser(server.app, { email: 'cluster@example.com' });
    const { secret } = await enrolTotp(server.app, seeded, Date.now());
    const tokens = await signInForTokens(rp, {
      email: seeded.user.email,
      password: seeded.password,
      totpCode: () => totpAt(secret, Date.now() / 1000 + 30),
    });
    expect(tokens.claims()!.amr).toEqual(expect.arrayContaining(['pwd', 'otp', 'mfa']));
  });

  it('a stalled master: pages answer 503 with Retry-After, /readyz reports it, and all recover without a restart', async () => {
    await cluster.pause(1);
    try {
      await expectUnavailable(authorizationPage, 'page');
      const { response, ms } = await timed(() => fetch(`${server.issuer}/readyz`));
      expect(response.status).toBe(503);
      expect(((await response.json()) as { checks: Record<string, string> }).checks.redis).toBe('unavailable');
      expect(ms).toBeLessThan(ANSWER_BOUND_MS);
    } finally {
      await cluster.resume(1);
    }
    await waitUntilReady(server.issuer);
    const login = await open(new Agent(), (await authorizationRequest(rp)).url, rp.redirectUri);
    expect(login.response.status).toBe(200);
    expect(await login.response.text()).toContain('/login"');
  });
});
