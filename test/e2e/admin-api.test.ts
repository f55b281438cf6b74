import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { createTestClock } from '../helpers/clock.ts';
import { discoverRp, signInForTokens, type RelyingParty } from '../helpers/rp.ts';
import { enrolTotp, seedClient, seedUser, type Seeded } from '../helpers/seed.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { totpAt } from '../helpers/totp.ts';

/**
 * The admin JSON API (issue 9): an organization's tools act for the administrator who signed in,
 * only inside that organization, with the RFC 9470 challenge when the sign-in is too old to change things.
 */
describe('the admin API', () => {
  const clock = createTestClock(Date.now() - 3_600_000);
  let server: TestServer;
  let admin: Seeded;
  let adminSecret: Buffer;
  let member: Seeded;
  let outsider: Seeded;
  let tool: RelyingParty;
  let accountApp: RelyingParty;

  beforeAll(async () => {
    server = await startTestServer('sqlite', { clock });
    admin = await seedUser(server.app, { email: 'root@acme.example', role: 'admin' });
    ({ secret: adminSecret } = await enrolTotp(server.app, admin, clock.now()));
    member = await seedUser(server.app, { email: 'member@acme.example' });
    outsider = await seedUser(server.app, { slug: 'globex', email: 'hank@globex.example', role: 'admin' });
    const rp = (options: Parameters<typeof seedClient>[1]) => seedClient(server.app, options);
    tool = await discoverRp(
      server.issuer,
      await rp({ id: 'admin-tool', adminApi: true, redirectUri: 'https://tool.example/cb' }),
    );
    accountApp = await discoverRp(
      server.issuer,
      await rp({ id: 'account-app', accountApi: true, redirectUri: 'https://app.example/cb' }),
    );
  });
  afterAll(async () => server?.close());

  const adminTokens = (rp = tool) => {
    clock.advance(30_000);
    return signInForTokens(rp, {
      email: admin.user.email,
      password: admin.password,
      totpCode: () => totpAt(adminSecret, clock.now() / 1000),
    });
  };

  const call = async (method: string, path: string, token: string, body?: unknown) => {
    const response = await fetch(`${server.issuer}/api/admin${path}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      body: body !== undefined ? JSON.stringify(body) : undefined,
    });
    const text = await response.text();
    return {
      status: response.status,
      headers: response.headers,
      json: text ? (JSON.parse(text) as Record<string, unknown>) : null,
    };
  };

  it("lists and shows the administrator's own organization's people, and no one else", async () => {
    const { access_token: token } = await adminTokens();
    const listed = await call('GET', '/people', token);
    expect(listed.status).toBe(200);
    const emails = (listed.json!.people as { email: string }[]).map((p) => p.email);
    expect(emails.sort()).toEqual(['member@acme.example', 'root@acme.example']);
    expect((await call('GET', '/people?status=enforced', token)).status).toBe(200);
    expect((await call('GET', '/people?status=bogus', token)).json).toMatchObject({ error: 'invalid_request' });

    const shown = await call('GET', `/people/${member.user.id}`, token);
    expect(shown.json).toMatchObject({ email: 'member@acme.example', role: 'member', tfa_status: 'off', methods: [] });
    for (const id of [outsider.user.id, 'not-an-id']) {
      const refused = await call('GET', `/people/${id}`, token);
      expect(refused.status).toBe(404);
      expect(refused.json).toMatchObject({ error: 'unknown_person' });
      expect(await call('POST', `/people/${id}/tfa/reset`, token, {})).toMatchObject({ status: 404 });
    }
  });

  it('answers members with 403 and tokens of other clients with invalid_token', async () => {
    clock.advance(30_000);
    const memberTokens = await signInForTokens(tool, { email: member.user.email, password: member.password });
    const refused = await call('GET', '/people', memberTokens.access_token);
    expect(refused.status).toBe(403);
    expect(refused.json).toMatchObject({ error: 'not_admin_api' });
    expect((await call('PATCH', '/organization', memberTokens.access_token, { enforce_tfa: true })).status).toBe(403);

    const accountToken = (await adminTokens(accountApp)).access_token;
    const other = await call('GET', '/people', accountToken);
    expect(other.status).toBe(401);
    expect(other.headers.get('www-authenticate')).toMatch(/^Bearer error="invalid_token"/);
    expect((await call('GET', '/people', 'forged')).status).toBe(401);
  });

  it('changes the policy with a fresh sign-in and answers a stale one with the RFC 9470 challenge', async () => {
    const { access_token: token } = await adminTokens();
    const changed = await call('PATCH', '/organization', token, { enforce_tfa: true, trusted_browser_days: 7 });
    expect(changed.status).toBe(200);
    expect(changed.json).toMatchObject({ slug: 'acme', enforce_tfa: true, trusted_browser_days: 7 });
    expect((await call('GET', '/organization', token)).json).toMatchObject({ enforce_tfa: true });

    clock.advance(301_000);
    const stale = await call('PATCH', '/organization', token, { enforce_tfa: false });
    expect(stale.status).toBe(401);
    expect(stale.headers.get('www-authenticate')).toBe(
      'Bearer error="insufficient_user_authentication", error_description="A more recent authentication is required for this change.", max_age=300, acr_values="urn:twofold:acr:mfa"',
    );
    expect(stale.json).toMatchObject({ error: 'insufficient_user_authentication' });
    expect((await call('GET', '/organization', token)).json).toMatchObject({ enforce_tfa: true });
    // Reading needs no fresh sign-in.
    expect((await call('GET', '/people', token)).status).toBe(200);
  });

  it('refuses bad policy bodies with the setting named, changing nothing', async () => {
    const { access_token: token } = await adminTokens();
    const cases: [unknown, RegExp][] = [
      [{}, /at least one setting/],
      [{ enforce_mfa: true }, /Unknown setting enforce_mfa/],
      [{ trusted_browser_days: 9999 }, /trusted_browser_days: Use 0 to 365 days/],
      [[1, 2], /JSON object/],
    ];
    for (const [body, message] of cases) {
      const refused = await call('PATCH', '/organization', token, body);
      expect(refused.status, JSON.stringify(body)).toBe(400);
      expect(refused.json).toMatchObject({ error: 'invalid_request' });
      expect(String(refused.json!.error_description)).toMatch(message);
    }
    expect((await call('GET', '/organization', token)).json).toMatchObject({ trusted_browser_days: 7 });
  });

  it("resets a person's two-step verification, and refuses turning it off while the organization enforces it", async () => {
    const { access_token: token } = await adminTokens();
    await enrolTotp(server.app, member, clock.now());
    const reset = await call('POST', `/people/${member.user.id}/tfa/reset`, token, { keep_app_passwords: true });
    expect(reset).toMatchObject({ status: 200, json: { removed_methods: 1 } });
    expect((await call('GET', `/people/${member.user.id}`, token)).json).toMatchObject({ tfa_status: 'not_enrolled' });
    expect((await call('POST', `/people/${member.user.id}/tfa/reset`, token, { keep: 1 })).status).toBe(400);

    const refused = await call('POST', `/people/${member.user.id}/tfa/disable`, token);
    expect(refused.status).toBe(409);
    expect(refused.json).toMatchObject({ error: 'tfa_required' });
  });
});
