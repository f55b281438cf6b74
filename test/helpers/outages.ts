import pg from 'pg';
import { afterAll, beforeAll, expect } from 'vitest';

import type { Clock } from '../../src/ports/clock.ts';
import { Agent, readForm } from './agent.ts';
import { DATABASE_URL, REDIS_URL, uniqueName } from './backends.ts';
import { authorizationRequest, discoverRp, open, submitLogin, type RelyingParty } from './rp.ts';
import { seedClient } from './seed.ts';
import { startTestServer, type TestServer } from './server.ts';
import { startTcpProxy, type TcpProxy } from './tcp-proxy.ts';

/** The real server in scale-out mode, reaching PostgreSQL and Redis through proxies that can fail. */
export interface ServerBehindProxies {
  server: TestServer;
  postgres: TcpProxy;
  redis: TcpProxy;
  close(): Promise<void>;
}

/**
 * Store timeouts at or below the defaults keep the suites quick, yet long enough that a busy test
 * machine does not look like an outage; the bound the tests assert is a generous multiple of them
 * (no test measures speed).
 */
const STORE_TIMEOUTS = {
  database: { connectTimeoutMs: 2000, queryTimeoutMs: 2000 },
  redis: { connectTimeoutMs: 2000, commandTimeoutMs: 2000 },
};

/** An answer to an outage must come within this: the longest store timeout (3 s) with ample slack. */
export const ANSWER_BOUND_MS = 10_000;

/** A PostgreSQL database of a suite's own. */
export interface TestDatabase {
  url: string;
  /** Ends every connection to it from the server side, as a restart does (pg_terminate_backend: 57P01). */
  terminateConnections(): Promise<number>;
  drop(): Promise<void>;
}

async function runAsAdministrator(statement: string, values: unknown[] = []): Promise<pg.QueryResult> {
  const client = new pg.Client({ connectionString: DATABASE_URL });
  await client.connect();
  try {
    return await client.query(statement, values);
  } finally {
    await client.end();
  }
}

/**
 * A database of the suite's own, dropped by `drop`: outage suites run long against one database,
 * and the test schemas of the shared `test` database are dropped by whichever run ends first.
 */
export async function createDatabase(): Promise<TestDatabase> {
  const name = uniqueName('twofold_outage');
  await runAsAdministrator(`create database ${name}`);
  const url = new URL(DATABASE_URL);
  url.pathname = `/${name}`;
  return {
    url: url.href,
    async terminateConnections() {
      const { rowCount } = await runAsAdministrator(
        'select pg_terminate_backend(pid) from pg_stat_activity where datname = $1',
        [name],
      );
      return rowCount ?? 0;
    },
    drop: async () => void (await runAsAdministrator(`drop database if exists ${name} with (force)`)),
  };
}

export async function startServerBehindProxies(
  options: { clock?: Clock; overrides?: Record<string, unknown> } = {},
): Promise<ServerBehindProxies> {
  const database = await createDatabase();
  const postgres = await startTcpProxy(database.url);
  const redis = await startTcpProxy(REDIS_URL);
  const server = await startTestServer('postgres+redis', {
    clock: options.clock,
    app: { postgresSchema: 'public' },
    overrides: {
      database: { url: postgres.url, ...STORE_TIMEOUTS.database },
      redis: { url: redis.url, ...STORE_TIMEOUTS.redis },
      ...options.overrides,
    },
  });
  return {
    server,
    postgres,
    redis,
    async close() {
      await Promise.all([postgres.restore(), redis.restore()]);
      await server.close();
      await Promise.all([postgres.close(), redis.close()]);
      await database.drop();
    },
  };
}

/** A request, and how long its answer took. */
export async function timed(request: () => Promise<Response>): Promise<{ response: Response; ms: number }> {
  const started = Date.now();
  const response = await request();
  return { response, ms: Date.now() - started };
}

/** The answer to a request that met an outage: 503, Retry-After, within the bound. */
export async function expectUnavailable(request: () => Promise<Response>, as: 'page' | 'json'): Promise<string> {
  const { response, ms } = await timed(request);
  const body = await response.text();
  expect(response.status, body.slice(0, 500)).toBe(503);
  expect(Number(response.headers.get('retry-after'))).toBeGreaterThan(0);
  expect(ms).toBeLessThan(ANSWER_BOUND_MS);
  if (as === 'json') {
    expect(JSON.parse(body)).toEqual({
      error: 'temporarily_unavailable',
      error_description: expect.stringContaining('try again'),
    });
  } else {
    expect(response.headers.get('content-type')).toContain('text/html');
    expect(body).toContain('Briefly unavailable');
  }
  return body;
}

/** Waits (bounded) until /readyz answers 200 again, as a load balancer would before sending traffic back. */
export async function waitUntilReady(issuer: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if ((await fetch(`${issuer}/readyz`)).status === 200) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`/readyz did not recover within ${timeoutMs} ms`);
}

/**
 * One outage suite's set-up: a server behind failing proxies, started before the suite and closed
 * after it, with a first-party relying party and the requests every outage suite makes.
 */
export function useServerBehindProxies(clock: Clock) {
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
  /**
   * A token request naming a code nobody was given: the code is looked up in Redis, and the client in
   * the database unless this node has found it before (clients never change, so nodes keep them).
   */
  const tokenRequest = (clientId = client.clientId) =>
    fetch(`${issuer()}/token`, {
      method: 'POST',
      headers: {
        authorization: `Basic ${Buffer.from(`${clientId}:${client.clientSecret}`).toString('base64')}`,
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: new URLSearchParams({
        grant_type: 'authorization_code',
        code: 'a-code-nobody-was-given',
        redirect_uri: client.redirectUri,
        code_verifier: 'v'.repeat(43),
      }),
    });

  return {
    env: () => env,
    rp: () => rp,
    issuer,
    tokenRequest,
    authorizationPage: async () => fetch((await authorizationRequest(rp)).url, { headers: { accept: 'text/html' } }),
    /** A sign-in page opened now; `submit` posts an email and password to it (the person is read from the database). */
    async loginForm() {
      const agent = new Agent();
      const page = await open(agent, (await authorizationRequest(rp)).url, rp.redirectUri);
      const form = readForm(await page.response.text(), /\/login$/);
      const target = new URL(form.action, page.url);
      return {
        submit: (email: string, password: string) =>
          agent.request(target, { form: { _csrf: form.csrf, email, password } }),
      };
    },
    /** Once ready again, the sign-in page and the token endpoint answer as usual. */
    async expectServed() {
      await waitUntilReady(issuer());
      const login = await open(new Agent(), (await authorizationRequest(rp)).url, rp.redirectUri);
      expect(login.response.status).toBe(200);
      expect(await login.response.text()).toContain('/login"');
      const token = await tokenRequest();
      expect([token.status, ((await token.json()) as { error: string }).error]).toEqual([400, 'invalid_grant']);
    },
    /** A sign-in brought to its second step; `submit` sends a code there. */
    async codeStep(email: string, password: string) {
      const agent = new Agent();
      const request = await authorizationRequest(rp);
      const page = await submitLogin(
        agent,
        await open(agent, request.url, rp.redirectUri),
        email,
        password,
        rp.redirectUri,
      );
      expect(page.url.pathname).toMatch(/\/verify$/);
      const html = await page.response.text();
      const factorId = /name="factorId" value="([^"]+)"/.exec(html)![1]!;
      const form = readForm(html, /\/verify\/[a-z]+$/);
      const target = new URL(form.action, page.url);
      const submit = (code: string) => agent.request(target, { form: { _csrf: form.csrf, factorId, code } });
      return { agent, request, target, submit };
    },
  };
}
