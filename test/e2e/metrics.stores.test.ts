import * as oidc from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { skipReason } from '../helpers/backends.ts';
import {
  expectUnavailable,
  startServerBehindProxies,
  waitUntilReady,
  type ServerBehindProxies,
} from '../helpers/outages.ts';
import { authorizationRequest, discoverRp } from '../helpers/rp.ts';
import { enrolTotp, PASSWORD, seedClient, seedUser } from '../helpers/seed.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

const TOKEN = 'metrics-token-of-at-least-32-characters';

async function scrape(issuer: string): Promise<string> {
  return (await fetch(`${issuer}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } })).text();
}

/** The value of one series in a scrape (0 when it is absent). */
function valueOf(text: string, series: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line ? Number(line.slice(series.length + 1)) : 0;
}

const storeCount = (store: string, operation: string, outcome: 'ok' | 'error') =>
  `twofold_store_operation_duration_seconds_count{store="${store}",operation="${operation}",outcome="${outcome}"}`;
const grants = (type: string, outcome: string) =>
  `twofold_token_grants_total{grant_type="${type}",outcome="${outcome}"}`;
const HASHES = 'twofold_password_hashes_in_flight';

/**
 * Issue 11, observability: store latency and errors, the password-hash queue and token grant
 * outcomes (the legacy password grant among them) move on /metrics as the server works.
 */
describe('metrics of stores, password hashes and grants', () => {
  let server: TestServer;

  beforeAll(async () => {
    server = await startTestServer('sqlite', {
      // A costlier hash than production's so that hashes stay in flight long enough to be seen.
      overrides: {
        metrics: { token: TOKEN },
        passwords: { argon2: { memoryCost: 19456, timeCost: 10, parallelism: 1 } },
      },
    });
  });
  afterAll(async () => server?.close());

  it('times every store operation by store and operation', async () => {
    const before = await scrape(server.issuer);
    await seedUser(server.app, { email: 'store-metrics@example.com' });
    const rp = await discoverRp(server.issuer, await seedClient(server.app));
    await fetch((await authorizationRequest(rp)).url, { headers: { accept: 'text/html' }, redirect: 'manual' });
    const after = await scrape(server.issuer);
    for (const [store, operation] of [
      ['users', 'insertUser'],
      ['clients', 'findClient'],
      ['oidc_models', 'upsert'],
    ] as const) {
      expect(valueOf(after, storeCount(store, operation, 'ok')), `${store}.${operation}`).toBeGreaterThan(
        valueOf(before, storeCount(store, operation, 'ok')),
      );
    }
    expect(after).toMatch(/twofold_store_operation_duration_seconds_bucket\{le="0\.005",store="users",/);
  });

  it('shows password hashes in flight while they run, and none once they are done', async () => {
    const seeded = await seedUser(server.app, { email: 'hash-queue@example.com' });
    const hashing = Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        server.app.services.accounts.createUser(seeded.org, {
          email: `queue-${i}@example.com`,
          name: 'Q',
          password: PASSWORD,
        }),
      ),
    );
    let settled = false;
    void hashing.finally(() => (settled = true));
    let most = 0;
    while (!settled) most = Math.max(most, valueOf(await scrape(server.issuer), HASHES));
    await hashing;
    expect(most).toBeGreaterThan(0);
    expect(valueOf(await scrape(server.issuer), HASHES)).toBe(0);
  });

  it('counts token grants by type and outcome, the legacy password grant included', async () => {
    const person = await seedUser(server.app, { email: 'grants@example.com' });
    await enrolTotp(server.app, person, Date.now());
    const who = { orgId: person.org.id, userId: person.user.id, email: person.user.email };
    const app = await server.app.services.appPasswords.create(
      who,
      person.org,
      true,
      { name: 'Mail', scopes: ['imap'] },
      '127.0.0.1',
    );
    const { secret } = await server.app.services.clients.registerClient({
      clientId: 'mail-metrics',
      grants: ['password'],
      authMethod: 'client_secret_post',
      introspection: false,
    });
    const mail = await oidc.discovery(new URL(server.issuer), 'mail-metrics', secret!, oidc.ClientSecretPost(secret!), {
      execute: [oidc.allowInsecureRequests],
    });
    const before = await scrape(server.issuer);
    await oidc.genericGrantRequest(mail, 'password', { username: person.user.email, password: app.password });
    await expect(
      oidc.genericGrantRequest(mail, 'password', { username: person.user.email, password: 'not it at all' }),
    ).rejects.toMatchObject({ error: 'invalid_grant' });
    const after = await scrape(server.issuer);
    expect(valueOf(after, grants('password', 'success')) - valueOf(before, grants('password', 'success'))).toBe(1);
    expect(
      valueOf(after, grants('password', 'invalid_grant')) - valueOf(before, grants('password', 'invalid_grant')),
    ).toBe(1);
  });
});

const scaleOutSkip = (skipReason('postgres') ?? skipReason('redis')) !== null;

describe.skipIf(scaleOutSkip)('metrics of store errors', () => {
  let env: ServerBehindProxies;
  beforeAll(async () => {
    env = await startServerBehindProxies({ overrides: { metrics: { token: TOKEN } } });
  });
  afterAll(async () => env?.close());

  it('counts a store operation that failed (Redis away) as an error of that store and operation', async () => {
    const rp = await discoverRp(env.server.issuer, await seedClient(env.server.app));
    const authorizationPage = async () =>
      fetch((await authorizationRequest(rp)).url, { headers: { accept: 'text/html' } });
    const before = await scrape(env.server.issuer);
    await env.redis.refuse();
    await expectUnavailable(authorizationPage, 'page');
    await env.redis.restore();
    await waitUntilReady(env.server.issuer);
    const after = await scrape(env.server.issuer);
    expect(valueOf(after, storeCount('oidc_models', 'upsert', 'error'))).toBeGreaterThan(
      valueOf(before, storeCount('oidc_models', 'upsert', 'error')),
    );
  });
});
