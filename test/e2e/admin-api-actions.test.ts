import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { createTestClock } from '../helpers/clock.ts';
import { discoverRp, signInForTokens, type RelyingParty } from '../helpers/rp.ts';
import { enrolTotp, seedClient, seedUser, type Seeded } from '../helpers/seed.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { readOutboxEmails, totpAt } from '../helpers/totp.ts';

/**
 * The admin API's operations on people (issue 9): what the console does, as JSON, with the same
 * rules (own organization, administrators, a recent sign-in, the last administrator kept).
 */
describe('the admin API acting on people', () => {
  const clock = createTestClock(Date.now() - 3_600_000);
  let server: TestServer;
  let admin: Seeded;
  let adminSecret: Buffer;
  let member: Seeded;
  let viewer: Seeded;
  let viewerSecret: Buffer;
  let outsider: Seeded;
  let tool: RelyingParty;
  let token: string;

  beforeAll(async () => {
    server = await startTestServer('sqlite', { clock });
    admin = await seedUser(server.app, { email: 'root@acme.example', role: 'admin', enforceTfa: true });
    ({ secret: adminSecret } = await enrolTotp(server.app, admin, clock.now()));
    member = await seedUser(server.app, { email: 'member@acme.example' });
    viewer = await seedUser(server.app, { email: 'viewer@acme.example' });
    ({ secret: viewerSecret } = await enrolTotp(server.app, viewer, clock.now()));
    outsider = await seedUser(server.app, { slug: 'globex', email: 'hank@globex.example' });
    const client = await seedClient(server.app, {
      id: 'admin-tool',
      adminApi: true,
      redirectUri: 'https://tool.example/cb',
    });
    tool = await discoverRp(server.issuer, client);
    token = (await freshTokens()).access_token;
  });
  afterAll(async () => server?.close());

  function freshTokens() {
    clock.advance(30_000);
    return signInForTokens(tool, {
      email: admin.user.email,
      password: admin.password,
      totpCode: () => totpAt(adminSecret, clock.now() / 1000),
    });
  }

  const call = async (method: string, path: string, body?: unknown, bearer = token) => {
    const response = await fetch(`${server.issuer}/api/admin${path}`, {
      method,
      headers: {
        authorization: `Bearer ${bearer}`,
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      body: body !== undefined ? JSON.stringify(body) : undefined,
    });
    const text = await response.text();
    return { status: response.status, json: text ? (JSON.parse(text) as Record<string, unknown>) : null };
  };
  const person = (who: Seeded) => `/people/${who.user.id}`;

  it('disables and enables a member, and never lets the administrator lock themselves out', async () => {
    expect((await call('POST', `${person(member)}/disable`)).status).toBe(204);
    expect((await server.app.stores.users.findUserBySubject(member.user.id))?.user.disabledAt).not.toBeNull();
    expect((await call('POST', `${person(member)}/enable`)).status).toBe(204);
    expect((await server.app.stores.users.findUserBySubject(member.user.id))?.user.disabledAt).toBeNull();

    const self = await call('POST', `${person(admin)}/disable`);
    expect(self.status).toBe(409);
    const demoted = await call('PUT', `${person(admin)}/role`, { role: 'member' });
    expect(demoted.status).toBe(409);
    expect((await server.app.stores.users.findUserBySubject(admin.user.id))?.user.role).toBe('admin');
  });

  it("removes one of a person's methods, but not the only one while the organization requires TFA", async () => {
    const { factorId: laptop } = await enrolTotp(server.app, viewer, clock.now(), 'Laptop');
    expect((await call('DELETE', `${person(viewer)}/methods/${laptop}`)).status).toBe(204);
    const [phone] = (await server.app.factors.store.findFactors(viewer.org.id, viewer.user.id)).filter((f) => f.active);
    const only = await call('DELETE', `${person(viewer)}/methods/${phone!.id}`);
    expect(only).toMatchObject({ status: 409, json: { error: 'tfa_required' } });
    expect((await call('DELETE', `${person(viewer)}/methods/not-a-method`)).status).toBe(404);
  });

  it('changes roles, refusing a body it cannot read', async () => {
    expect((await call('PUT', `${person(member)}/role`, { role: 'admin' })).status).toBe(204);
    expect((await call('GET', person(member))).json).toMatchObject({ role: 'admin' });
    expect((await call('PUT', `${person(member)}/role`, { role: 'member' })).status).toBe(204);
    const bad = await call('PUT', `${person(member)}/role`, { role: 'owner' });
    expect(bad).toMatchObject({ status: 400, json: { error: 'invalid_request' } });
  });

  it('issues a temporary access code shown once, and revokes it', async () => {
    const issued = await call('POST', `${person(member)}/access-code`, { lifetime_minutes: 30 });
    expect(issued.status).toBe(201);
    expect(issued.json!.code).toMatch(/^[A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4}$/);
    expect(Date.parse(String(issued.json!.expires_at)) - clock.now()).toBe(30 * 60_000);
    expect((await call('POST', `${person(member)}/access-code`, { lifetime_minutes: 5 })).status).toBe(400);
    expect((await call('DELETE', `${person(member)}/access-code`)).json).toEqual({ revoked: true });
    expect((await call('DELETE', `${person(member)}/access-code`)).json).toEqual({ revoked: false });
  });

  it("moves an un-enrolled member's enrolment deadline and ends it", async () => {
    const day = new Date(clock.now() + 10 * 86_400_000).toISOString().slice(0, 10);
    const moved = await call('PUT', `${person(member)}/enrolment-deadline`, { date: day });
    expect(moved).toMatchObject({ status: 200, json: { deadline: `${day}T23:59:59.999Z` } });
    expect((await call('PUT', `${person(member)}/enrolment-deadline`, { date: '2031-02-30' })).status).toBe(400);
    expect((await call('DELETE', `${person(member)}/enrolment-deadline`)).status).toBe(204);
  });

  it('emails a reset link and invites a person, refusing an address that has an account', async () => {
    expect((await call('POST', `${person(member)}/reset-link`)).status).toBe(202);
    const invited = await call('POST', '/invitations', { email: 'new@acme.example', name: 'New Person' });
    expect(invited).toMatchObject({ status: 201, json: { email: 'new@acme.example' } });
    const taken = await call('POST', '/invitations', { email: 'member@acme.example' });
    expect(taken).toMatchObject({ status: 409, json: { error: 'email_taken' } });
    await server.app.services.notices.settled();
    const emails = readOutboxEmails(server.environment.config.dataDir);
    expect(emails.some((e) => e.to === 'member@acme.example' && e.text.includes('/reset-password/'))).toBe(true);
    expect(emails.some((e) => e.to === 'new@acme.example' && e.text.includes('/invitation/'))).toBe(true);
  });

  it("reads the organization's trail, filtered, with who acted", async () => {
    const events = await call('GET', '/events?person=member@acme.example&kind=administration');
    expect(events.status).toBe(200);
    const disabled = (events.json!.events as { type: string; actor: string; person: string }[]).find(
      (e) => e.type === 'user.disabled',
    );
    expect(disabled).toMatchObject({ actor: 'root@acme.example', person: 'member@acme.example' });
    expect((await call('GET', '/events?from=yesterday')).json).toMatchObject({ error: 'invalid_request' });
  });

  it("answers another organization's person 404, a member 403, and a stale sign-in with the RFC 9470 challenge", async () => {
    for (const [method, path] of [
      ['POST', `${person(outsider)}/disable`],
      ['PUT', `${person(outsider)}/role`],
      ['POST', `${person(outsider)}/access-code`],
      ['POST', `${person(outsider)}/reset-link`],
    ] as const) {
      const refused = await call(method, path, method === 'PUT' ? { role: 'admin' } : {});
      expect(refused.status, `${method} ${path}`).toBe(404);
    }
    expect((await server.app.stores.users.findUserBySubject(outsider.user.id))?.user.disabledAt).toBeNull();

    clock.advance(30_000);
    const memberToken = (
      await signInForTokens(tool, {
        email: viewer.user.email,
        password: viewer.password,
        totpCode: () => totpAt(viewerSecret, clock.now() / 1000),
      })
    ).access_token;
    expect((await call('POST', `${person(member)}/disable`, {}, memberToken)).status).toBe(403);

    clock.advance(301_000);
    const stale = await call('POST', `${person(member)}/disable`);
    expect(stale).toMatchObject({ status: 401, json: { error: 'insufficient_user_authentication' } });
    expect((await server.app.stores.users.findUserBySubject(member.user.id))?.user.disabledAt).toBeNull();
  });
});
