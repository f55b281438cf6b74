import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { Agent, readForm } from '../helpers/agent.ts';
import { createTestClock } from '../helpers/clock.ts';
import { runFuzz, startFuzzWorld } from '../helpers/fuzz/runner.ts';
import { authorizationRequest, discoverRp, open } from '../helpers/rp.ts';
import { seedClient, seedUser } from '../helpers/seed.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

/**
 * Found by the fuzz (issue 11) on PostgreSQL, which refuses a NUL character in any text value, even
 * in a lookup: a NUL in a field answered 500 wherever it reached the database. It is a malformed
 * request: 400 invalid_request, on our pages and on the provider's endpoints alike.
 */
describe('a NUL byte in a field on PostgreSQL (issue 11)', () => {
  let server: TestServer;
  let mailSecret: string;

  beforeAll(async () => {
    server = await startTestServer('postgres+redis');
    await seedUser(server.app, { email: 'ada@acme.example' });
    const mail = await server.app.services.clients.registerClient({
      clientId: 'nul-mail',
      grants: ['password'],
      authMethod: 'client_secret_post',
      introspection: true,
    });
    mailSecret = mail.secret!;
  });
  afterAll(async () => server?.close());

  const post = (path: string, fields: Record<string, string>) =>
    fetch(`${server.issuer}${path}`, {
      method: 'POST',
      headers: { accept: 'application/json' },
      body: new URLSearchParams(fields),
    });

  it('answers 400 invalid_request at the token and introspection endpoints', async () => {
    const grant = { grant_type: 'password', username: 'ada@acme.example', password: 'x', client_secret: mailSecret };
    for (const [path, fields] of [
      ['/token', { ...grant, client_id: 'nul-mail\u0000' }],
      ['/token', { ...grant, client_id: 'nul-mail', username: 'ada\u0000@acme.example' }],
      ['/token/introspection', { token: 'x', client_id: '\u0000', client_secret: mailSecret }],
    ] as const) {
      const response = await post(path, fields);
      expect(response.status, `${path} ${JSON.stringify(fields)}`).toBeLessThan(500);
      expect(response.status).toBeGreaterThanOrEqual(400);
    }
  });

  it('answers the sign-in page with 400, not 500', async () => {
    const rp = await discoverRp(server.issuer, await seedClient(server.app, { firstParty: true }));
    const agent = new Agent();
    const page = await open(agent, (await authorizationRequest(rp)).url, rp.redirectUri);
    const form = readForm(await page.response.text(), /\/login$/);
    const target = new URL(form.action, page.url);
    const response = await agent.request(target, {
      form: { _csrf: form.csrf, email: 'ada\u0000@acme.example', password: 'a long passphrase' },
    });
    expect(response.status).toBe(400);
    expect(await response.text()).toContain('The request could not be understood.');
  });
});

/**
 * Every route once more on PostgreSQL + Redis, with only what depends on the stores: each field
 * with a NUL byte and with invalid UTF-8 (the rest of the fuzz does not
 * depend on the backend and runs on SQLite in fuzz.test.ts).
 */
describe('fuzz: every field on PostgreSQL and Redis (issue 11)', () => {
  it('answers without a 5xx, a hang or a crash', { timeout: 240_000 }, async () => {
    const world = await startFuzzWorld('postgres+redis', createTestClock(Date.now() - 3_600_000));
    try {
      const result = await runFuzz(world, {
        seed: 0x11f022,
        primary: { request: 0, always: ['NUL bytes', 'invalid UTF-8'], fields: 0 },
        anonymous: null,
      });
      console.log(
        `fuzz on PostgreSQL: ${result.sent} requests to ${result.routes} routes in ${result.seconds.toFixed(1)} s`,
      );
      expect(result.failures).toEqual([]);
      expect((await fetch(`${world.server.issuer}/healthz`)).status).toBe(200);
    } finally {
      await world.server.close();
    }
  });
});
