import * as oidc from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { enrolTotp, PASSWORD, seedUser, type Seeded } from '../helpers/seed.ts';
import { createTestClock, startTestServer, type TestServer } from '../helpers/server.ts';

const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

/** The password grant, introspection and forward-auth under hostile input, guessing and load. */
describe('legacy access refuses what it must', () => {
  const clock = createTestClock();
  let server: TestServer;
  let secret: string;
  let proxySecret: string;
  let ada: Seeded;
  let password: string;

  const token = (body: string, headers: Record<string, string> = {}) =>
    fetch(`${server.issuer}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
      body,
    });
  const form = (fields: Record<string, string>) => new URLSearchParams(fields).toString();
  const grant = (username: string, pass: string) =>
    token(form({ grant_type: 'password', username, password: pass, client_id: 'dovecot', client_secret: secret }));
  const forwardAuth = (authorization: string | null, client = basic('nginx', proxySecret), query = '') =>
    fetch(`${server.issuer}/forward-auth${query}`, {
      headers: { ...(authorization ? { authorization } : {}), 'x-twofold-client': client },
    });

  beforeAll(async () => {
    server = await startTestServer('sqlite', {
      clock,
      overrides: {
        throttle: {
          account: { freeAttempts: 3, windowSeconds: 900, maxDelaySeconds: 900 },
          ip: { freeAttempts: 1000, windowSeconds: 900, maxDelaySeconds: 60 },
        },
      },
    });
    secret = (
      await server.app.services.clients.registerClient({
        clientId: 'dovecot',
        grants: ['password'],
        authMethod: 'client_secret_post',
        introspection: true,
      })
    ).secret!;
    proxySecret = (
      await server.app.services.clients.registerClient({
        clientId: 'nginx',
        grants: ['client_credentials'],
        forwardAuth: true,
      })
    ).secret!;
    ada = await seedUser(server.app, { email: 'ada@example.com' });
    await enrolTotp(server.app, ada, clock.now());
    const person = { orgId: ada.org.id, userId: ada.user.id, email: ada.user.email };
    password = (
      await server.app.services.appPasswords.create(
        person,
        ada.org,
        true,
        { name: 'Calendar', scopes: ['imap', 'dav'] },
        '127.0.0.1',
      )
    ).password;
  });
  afterAll(async () => server?.close());

  it('answers malformed requests with an OAuth error and never a 5xx', async () => {
    const cases: [string, Record<string, string>][] = [
      [form({ grant_type: 'password', client_id: 'dovecot', client_secret: secret }), {}],
      [form({ grant_type: 'password', username: 'ada@example.com', client_id: 'dovecot', client_secret: secret }), {}],
      [
        form({
          grant_type: 'password',
          username: 'x'.repeat(300),
          password: 'y',
          client_id: 'dovecot',
          client_secret: secret,
        }),
        {},
      ],
      [
        form({
          grant_type: 'password',
          username: 'ada@example.com',
          password: 'p'.repeat(5000),
          client_id: 'dovecot',
          client_secret: secret,
        }),
        {},
      ],
      [`grant_type=password&username=a&username=b&password=x&client_id=dovecot&client_secret=${secret}`, {}],
      [
        JSON.stringify({ grant_type: 'password', username: 'ada@example.com', password }),
        { 'content-type': 'application/json' },
      ],
      [
        form({
          grant_type: 'password',
          username: 'ada@example.com',
          password,
          client_id: 'dovecot',
          client_secret: 'wrong',
        }),
        {},
      ],
      [
        `${form({ grant_type: 'password', client_id: 'dovecot', client_secret: secret })}&pad=${'x'.repeat(200_000)}`,
        {},
      ],
      ['%E0%A4%A', {}],
    ];
    for (const [body, headers] of cases) {
      const response = await token(body, headers);
      expect(response.status, body.slice(0, 60)).toBeGreaterThanOrEqual(400);
      expect(response.status, body.slice(0, 60)).toBeLessThan(500);
      const payload = (await response.json()) as { error?: string };
      expect(typeof payload.error).toBe('string');
    }
  });

  it('refuses the password grant to a client not registered for it', async () => {
    const { secret: webSecret } = await server.app.services.clients.registerClient({
      clientId: 'web',
      redirectUris: ['https://rp.example/cb'],
    });
    const response = await token(
      form({
        grant_type: 'password',
        username: 'ada@example.com',
        password,
        client_id: 'web',
        client_secret: webSecret!,
      }),
    );
    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: string }).error).not.toBe('invalid_grant');
  });

  it("rations wrong guesses per username, while the person's real app password and web sign-in keep working", async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) statuses.push((await grant('ada@example.com', `wrong guess ${i}`)).status);
    expect(statuses.every((s) => s === 400)).toBe(true);
    // Throttled now: the same invalid_grant, answered without checking anything.
    const throttled = await grant('ada@example.com', PASSWORD);
    expect(throttled.status).toBe(400);
    expect(((await throttled.json()) as { error: string }).error).toBe('invalid_grant');
    expect((await grant('ADA@example.com', password)).status).toBe(200);
    const web = await server.app.services.accounts.verifyPassword({
      email: 'ada@example.com',
      password: PASSWORD,
      ip: '127.0.0.1',
    });
    expect(web.ok).toBe(true);
  });

  it('a concurrent burst of grants with a valid app password all succeed, and of wrong ones all fail', async () => {
    const good = await Promise.all(Array.from({ length: 20 }, () => grant('ada@example.com', password)));
    expect(good.map((r) => r.status)).toEqual(Array(20).fill(200));
    const bad = await Promise.all(Array.from({ length: 20 }, (_, i) => grant('ada@example.com', `nope ${i}`)));
    expect(new Set(bad.map((r) => r.status))).toEqual(new Set([400]));
  });

  it('forward-auth lets a registered proxy check an app password for the protocol it protects', async () => {
    const ok = await forwardAuth(basic('Ada@Example.com', password));
    expect(ok.status).toBe(200);
    expect(ok.headers.get('x-twofold-user')).toBe('ada@example.com');
    expect(ok.headers.get('x-twofold-scope')).toBe('dav');
    // SMTP is not among this app password's protocols.
    expect((await forwardAuth(basic('ada@example.com', password), undefined, '?scope=smtp')).status).toBe(401);
    for (const authorization of [
      null,
      basic('ada@example.com', PASSWORD),
      'Basic !!!',
      'Bearer x',
      basic('nobody@example.com', password),
    ]) {
      const refused = await forwardAuth(authorization);
      expect(refused.status, String(authorization)).toBe(401);
      expect(refused.headers.get('www-authenticate')).toMatch(/^Basic realm="/);
    }
  });

  it('forward-auth refuses a proxy that is not registered for it, and an unknown scope', async () => {
    expect((await forwardAuth(basic('ada@example.com', password), basic('nginx', 'wrong'))).status).toBe(403);
    expect((await forwardAuth(basic('ada@example.com', password), basic('dovecot', secret))).status).toBe(403);
    expect((await forwardAuth(basic('ada@example.com', password), 'garbage')).status).toBe(403);
    expect((await forwardAuth(basic('ada@example.com', password), undefined, '?scope=root')).status).toBe(403);
  });

  it('a token from an app password never reaches the account API', async () => {
    const config = await oidc.discovery(new URL(server.issuer), 'dovecot', secret, oidc.ClientSecretPost(secret), {
      execute: [oidc.allowInsecureRequests],
    });
    const tokens = await oidc.genericGrantRequest(config, 'password', { username: 'ada@example.com', password });
    const response = await fetch(`${server.issuer}/api/account/security`, {
      headers: { authorization: `Bearer ${tokens.access_token}` },
    });
    expect(response.status).toBe(401);
  });
});
