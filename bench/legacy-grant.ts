/**
 * The legacy grant (issue 10): each IMAP login costs one password grant and one introspection.
 * Throughput under concurrency, against the provider's own client_credentials grant in the same
 * run; the app password is checked by its keyed hash, so no password hash is on this path.
 * Target: at least 0.85 of client_credentials for the grant, and for grant + introspection pairs.
 */
import type { TestServer } from '../test/helpers/server.ts';
import { enrolTotp, seedUser } from '../test/helpers/seed.ts';

export interface LegacyBenchResult {
  clientCredentialsPerSecond: number;
  passwordGrantsPerSecond: number;
  grantAndIntrospectionPairsPerSecond: number;
  grantRatio: number;
  pairRatio: number;
}

/** Runs `job` with `concurrency` workers until `total` have finished; returns jobs per second. */
async function throughput(total: number, concurrency: number, job: () => Promise<void>): Promise<number> {
  let started = 0;
  const begin = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (started < total) {
        started++;
        await job();
      }
    }),
  );
  return total / ((performance.now() - begin) / 1000);
}

export async function benchLegacyGrant(
  server: TestServer,
  options: { total: number; concurrency: number; nowMs: number },
) {
  const mail = await server.app.services.clients.registerClient({
    clientId: 'bench-mail',
    grants: ['password'],
    authMethod: 'client_secret_post',
    introspection: true,
  });
  const service = await server.app.services.clients.registerClient({
    clientId: 'bench-service',
    grants: ['client_credentials'],
    authMethod: 'client_secret_post',
  });
  const person = await seedUser(server.app, { email: 'bench-mail@example.com' });
  await enrolTotp(server.app, person, options.nowMs);
  const { password } = await server.app.services.appPasswords.create(
    { orgId: person.org.id, userId: person.user.id, email: person.user.email },
    person.org,
    true,
    { name: 'bench', scopes: ['imap'] },
    '127.0.0.1',
  );
  const post = async (path: string, fields: Record<string, string>) => {
    const response = await fetch(`${server.issuer}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(fields),
    });
    const body = (await response.json()) as Record<string, unknown>;
    if (response.status !== 200) throw new Error(`${path} answered ${response.status} ${JSON.stringify(body)}`);
    return body;
  };
  const clientCredentials = () =>
    post('/token', { grant_type: 'client_credentials', client_id: 'bench-service', client_secret: service.secret! });
  const passwordGrant = () =>
    post('/token', {
      grant_type: 'password',
      username: person.user.email,
      password,
      client_id: 'bench-mail',
      client_secret: mail.secret!,
    });
  const pair = async () => {
    const { access_token } = await passwordGrant();
    const introspected = await post('/token/introspection', {
      token: String(access_token),
      client_id: 'bench-mail',
      client_secret: mail.secret!,
    });
    if (introspected.active !== true) throw new Error('introspection said inactive');
  };
  // Warm every path (JIT, statement caches) with a quarter run each, then measure side by side.
  const { total, concurrency } = options;
  await throughput(total / 4, concurrency, async () => void (await clientCredentials()));
  await throughput(total / 4, concurrency, pair);
  const clientCredentialsPerSecond = await throughput(total, concurrency, async () => void (await clientCredentials()));
  const passwordGrantsPerSecond = await throughput(total, concurrency, async () => void (await passwordGrant()));
  const grantAndIntrospectionPairsPerSecond = await throughput(total, concurrency, pair);
  return {
    clientCredentialsPerSecond,
    passwordGrantsPerSecond,
    grantAndIntrospectionPairsPerSecond,
    grantRatio: passwordGrantsPerSecond / clientCredentialsPerSecond,
    // A pair is two requests: compare it with two client_credentials grants.
    pairRatio: (2 * grantAndIntrospectionPairsPerSecond) / clientCredentialsPerSecond,
  } satisfies LegacyBenchResult;
}
