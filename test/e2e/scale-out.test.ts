import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { Agent, readForm } from '../helpers/agent.ts';
import { skipReason } from '../helpers/backends.ts';
import { authorizationRequest, discoverRp, exchange, open, type RelyingParty } from '../helpers/rp.ts';
import { enrolTotp, seedClient, seedUser } from '../helpers/seed.ts';
import {
  createTestEnvironment,
  freePort,
  startSecondNode,
  startTestServer,
  type TestServer,
} from '../helpers/server.ts';
import { startServer } from '../../src/server.ts';
import { totpAt } from '../helpers/totp.ts';

const skip = (skipReason('postgres') ?? skipReason('redis')) !== null;

/**
 * Two nodes of one deployment on PostgreSQL and Redis (issue 11), as behind a load balancer: a
 * sign-in goes back and forth between them, a reset made through one node holds on the other at
 * once, and the brute-force budget is one for both.
 */
describe.skipIf(skip)('two nodes on one PostgreSQL and Redis', () => {
  let a: TestServer;
  let b: TestServer;
  let rp: RelyingParty;
  let client: Awaited<ReturnType<typeof seedClient>>;

  beforeAll(async () => {
    a = await startTestServer('postgres+redis', {
      overrides: {
        throttle: {
          account: { freeAttempts: 4, windowSeconds: 900, maxDelaySeconds: 60 },
          ip: { freeAttempts: 100, windowSeconds: 900, maxDelaySeconds: 60 },
        },
      },
    });
    b = await startSecondNode(a);
    client = await seedClient(a.app, { firstParty: true });
    rp = await discoverRp(a.issuer, client);
  });
  afterAll(async () => {
    await b?.close();
    await a?.close();
  });

  /** The same path on node B: what a load balancer does with the browser's next request. */
  const onB = (url: URL) => new URL(`${url.pathname}${url.search}`, b.url);

  it('a sign-in started on one node finishes on the other, and a reset through one ends its tokens on both', async () => {
    const seeded = await seedUser(a.app, { email: 'ada@example.com' });
    const { secret } = await enrolTotp(a.app, seeded, Date.now());
    const agent = new Agent();
    const request = await authorizationRequest(rp);
    const login = await open(agent, request.url, rp.redirectUri); // on A
    const loginForm = readForm(await login.response.text(), /\/login$/);
    const password = onB(new URL(loginForm.action, login.url));
    const second = await agent.follow(
      await agent.request(password, {
        form: { _csrf: loginForm.csrf, email: 'ada@example.com', password: seeded.password },
      }),
      password,
    );
    expect(second.url.pathname).toMatch(/\/verify$/);
    const html = await second.response.text();
    const codeForm = readForm(html, /\/verify\/[a-z]+$/);
    const factorId = /name="factorId" value="([^"]+)"/.exec(html)![1]!;
    const code = new URL(codeForm.action, second.url); // back on A
    const back = await agent.follow(
      await agent.request(new URL(`${code.pathname}`, a.url), {
        form: { _csrf: codeForm.csrf, factorId, code: totpAt(secret, Date.now() / 1000 + 30) },
      }),
      new URL(code.pathname, a.url),
      (next) => next.href.startsWith(rp.redirectUri),
    );
    const tokens = await exchange(rp, back.url, request);
    expect(tokens.claims()!.amr).toContain('mfa');

    // RFC 7662 at one node or the other, with the client's own credentials.
    const introspectAt = async (node: TestServer) => {
      const response = await fetch(`${node.url}/token/introspection`, {
        method: 'POST',
        headers: {
          authorization: `Basic ${Buffer.from(`${client.clientId}:${client.clientSecret}`).toString('base64')}`,
          'content-type': 'application/x-www-form-urlencoded',
        },
        body: new URLSearchParams({ token: tokens.access_token }).toString(),
      });
      return ((await response.json()) as { active: boolean }).active;
    };
    expect(await introspectAt(b)).toBe(true);
    await a.app.services.tfaReset.resetTfa(
      { orgId: seeded.org.id, userId: seeded.user.id, email: seeded.user.email },
      { actor: 'cli' },
    );
    expect(await introspectAt(b)).toBe(false);
    expect(await introspectAt(a)).toBe(false);
  });

  it('wrong passwords count against one budget whichever node they reach', async () => {
    await seedUser(a.app, { email: 'bob@example.com' });
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) {
      const node = i % 2 === 0 ? a : b;
      const agent = new Agent();
      const request = await authorizationRequest(rp);
      const login = await open(agent, request.url, rp.redirectUri);
      const form = readForm(await login.response.text(), /\/login$/);
      const target = new URL(new URL(form.action, login.url).pathname, node.url);
      const answer = await agent.request(target, {
        form: { _csrf: form.csrf, email: 'bob@example.com', password: `wrong ${i}` },
      });
      statuses.push(answer.status);
    }
    expect(statuses.slice(0, 4)).toEqual([401, 401, 401, 401]);
    expect(statuses.slice(4)).toEqual([429, 429]);
  });
});

describe.skipIf(skip)('nodes starting together on a new database', () => {
  it('one applies the migrations while the other waits, and both serve', async () => {
    const environment = await createTestEnvironment('postgres+redis', {}, await freePort());
    const { config, options } = environment;
    const nodes = await Promise.all([
      startServer(config, options),
      startServer({ ...config, port: await freePort() }, options),
    ]);
    try {
      for (const node of nodes) expect((await fetch(`${node.url}/readyz`)).status).toBe(200);
      // Nothing is left to apply: the first node's migrations were the second's too.
      expect(await nodes[1]!.app.migrate()).toEqual([]);
    } finally {
      for (const node of nodes) await node.stop();
      await environment.cleanup();
    }
  });
});
