import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { ACR_MFA } from '../../src/domain/authentication.ts';
import { Agent, readForm } from '../helpers/agent.ts';
import { authorizationRequest, discoverRp, exchange, open, submitLogin, type RelyingParty } from '../helpers/rp.ts';
import { seedClient, seedUser, type Seeded } from '../helpers/seed.ts';
import { createTestClock, startTestServer, type TestServer } from '../helpers/server.ts';
import { readOutbox, secretFromUri, totpAt } from '../helpers/totp.ts';

/** Regressions for the findings of the first security review, each named after its threat. */
describe('security review regressions', () => {
  const clock = createTestClock(Date.now() - 1_200_000);
  let server: TestServer;
  let rp: RelyingParty;

  beforeAll(async () => {
    server = await startTestServer('sqlite', { clock });
    rp = await discoverRp(server.issuer, await seedClient(server.app, { firstParty: true }));
  });
  afterAll(async () => server?.close());

  const personOf = (s: Seeded) => ({ orgId: s.org.id, userId: s.user.id, email: s.user.email });

  async function withTotp(seeded: Seeded) {
    const enrolment = await server.app.factors.totp.beginEnrolment(personOf(seeded), 'Phone');
    const secret = secretFromUri(enrolment.uri);
    const factor = (await server.app.factors.store.findFactor(seeded.org.id, seeded.user.id, enrolment.factorId))!;
    await server.app.factors.totp.confirmEnrolment(personOf(seeded), factor, totpAt(secret, clock.now() / 1000));
    clock.advance(30_000);
    return secret;
  }

  async function afterPassword(agent: Agent, seeded: Seeded, extra: Record<string, string> = {}) {
    const request = await authorizationRequest(rp, extra);
    return submitLogin(agent, await open(agent, request.url, rp.redirectUri), seeded.user.email, seeded.password, rp.redirectUri);
  }

  it('a stolen password cannot enrol a new factor in place of the victim\'s own (enrolment bypass)', async () => {
    const victim = await seedUser(server.app, { slug: 'enforcing', email: 'victim@enforcing.example', enforceTfa: true });
    await withTotp(victim);
    for (const extra of [{}, { acr_values: ACR_MFA }] as Record<string, string>[]) {
      const agent = new Agent();
      const page = await afterPassword(agent, victim, extra);
      expect(page.url.pathname).toMatch(/\/verify$/);
      const csrf = readForm(await page.response.text(), /\/verify$/).csrf;
      const enrol = new URL(page.url.pathname.replace(/verify$/, 'enrol'), server.issuer);
      expect((await agent.request(enrol)).status).toBe(400);
      expect((await agent.request(new URL(`${enrol.pathname}/totp`, server.issuer), { form: { _csrf: csrf } })).status).toBe(400);
      expect((await agent.request(new URL(`${enrol.pathname}/phone`, server.issuer), { form: { _csrf: csrf, phone: '+14155550111', kind: 'sms' } })).status).toBe(400);
    }
    expect((await server.app.factors.store.findFactors(victim.org.id, victim.user.id)).map((f) => f.label)).toEqual(['Phone']);
  });

  it('a trusted browser does not skip the second factor when the client demands a fresh sign-in (max_age)', async () => {
    const seeded = await seedUser(server.app, { email: 'trusted@example.com' });
    const secret = await withTotp(seeded);
    const agent = new Agent();
    const first = await afterPassword(agent, seeded);
    const html = await first.response.text();
    const form = readForm(html, /\/verify$/);
    const factorId = /name="factorId" value="([^"]+)"/.exec(html)![1]!;
    const target = new URL(form.action, first.url);
    const trusted = await agent.request(target, { form: { _csrf: form.csrf, factorId, code: totpAt(secret, clock.now() / 1000), trust: 'on' } });
    expect(trusted.status).toBe(303);
    const keep = agent.cookies.filter((c) => c.name === 'twofold.trusted' || c.name === 'twofold.csrf');
    expect(keep.map((c) => c.name)).toContain('twofold.trusted');

    // Same browser, its session gone: the password is enough for an ordinary sign-in …
    const ordinary = new Agent();
    ordinary.cookies.push(...keep);
    const request = await authorizationRequest(rp);
    const landed = await submitLogin(ordinary, await open(ordinary, request.url, rp.redirectUri), seeded.user.email, seeded.password, rp.redirectUri);
    expect(landed.url.href.startsWith(rp.redirectUri)).toBe(true);
    // That password-only token, however fresh, cannot change two-step settings of a person who has a factor.
    const tokens = await exchange(rp, landed.url, request);
    expect(tokens.claims()!.acr).not.toBe(ACR_MFA);
    const change = await fetch(`${server.issuer}/api/account/recovery-codes`, { method: 'POST', headers: { authorization: `Bearer ${tokens.access_token}`, accept: 'application/json' } });
    expect(change.status).toBe(401);
    expect(change.headers.get('www-authenticate')).toContain('acr_values="urn:twofold:acr:mfa"');
    // … but not when the client asks for a fresh sign-in.
    const fresh = new Agent();
    fresh.cookies.push(...keep);
    expect((await afterPassword(fresh, seeded, { max_age: '300' })).url.pathname).toMatch(/\/verify$/);
  });

  it('the account pages ask a person with a second factor to use it, even inside five minutes of a password-only sign-in', async () => {
    const seeded = await seedUser(server.app, { email: 'stepup@example.com' });
    const agent = new Agent();
    // Signed in to /account with the password alone (no factor yet) …
    let page = await agent.follow(await agent.request(new URL('/account', server.issuer)), new URL('/account', server.issuer));
    const login = readForm(await page.response.text(), /\/login$/);
    const target = new URL(login.action, page.url);
    page = await agent.follow(await agent.request(target, { form: { _csrf: login.csrf, email: seeded.user.email, password: seeded.password } }), target);
    expect(page.url.pathname).toBe('/account');
    // … then a factor appears by another way (another browser): the password-only session is not enough now.
    await withTotp(seeded);
    const csrf = /name="_csrf" value="([^"]+)"/.exec(await page.response.text())![1]!;
    const change = await agent.request(new URL('/account/two-factor/recovery-codes', server.issuer), { form: { _csrf: csrf } });
    expect(change.status).toBe(303);
    expect(change.headers.get('location')).toMatch(/^\/account\/login\?fresh=1&resume=/);
    const authorize = await agent.request(new URL(change.headers.get('location')!, server.issuer));
    expect(new URL(authorize.headers.get('location')!).searchParams.get('acr_values')).toBe(ACR_MFA);
  });

  it('junk passkey attempts slow down only their own credential, not passkey sign-in for everyone', async () => {
    const agent = new Agent();
    const request = await authorizationRequest(rp);
    const page = await open(agent, request.url, rp.redirectUri);
    const csrf = readForm(await page.response.text(), /\/login$/).csrf;
    const url = new URL(`${page.url.pathname}/passkey`, server.issuer);
    const send = (id: string) =>
      fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json', cookie: agent.cookieHeader(url) }, body: JSON.stringify({ _csrf: csrf, credential: { id, rawId: id, type: 'public-key', response: {} } }) });
    const statuses: number[] = [];
    for (let i = 0; i < 8; i++) statuses.push((await send('attacker-credential')).status);
    expect(statuses).toContain(429);
    expect((await send('someone-else')).status).toBe(400);
  });

  it('enrolling a stranger\'s number does not use up that person\'s sign-in codes', async () => {
    const owner = await seedUser(server.app, { email: 'owner@example.com' });
    const number = '+14155550177';
    const { factor } = await server.app.factors.phone.beginEnrolment(personOf(owner), 'sms', number, null, 'enrol', '127.0.0.9');
    const code = readOutbox(server.environment.config.dataDir).at(-1)!.code;
    expect((await server.app.factors.phone.verify(personOf(owner), factor, 'enrol', code)).ok).toBe(true);
    const stranger = await seedUser(server.app, { email: 'stranger@example.com' });
    for (let i = 0; i < 6; i++) await server.app.factors.phone.beginEnrolment(personOf(stranger), 'sms', number, null, `e${i}`, '127.0.0.8');
    const active = (await server.app.factors.store.findFactor(owner.org.id, owner.user.id, factor.id))!;
    expect(await server.app.factors.phone.sendCode(personOf(owner), active, 'signin', '127.0.0.7')).toEqual({ ok: true });
    // And unfinished enrolments do not pile up: one per person.
    expect((await server.app.factors.store.findFactors(stranger.org.id, stranger.user.id)).length).toBe(1);
  });

  it('a concurrent burst of wrong passwords cannot exceed the attempt budget', async () => {
    const seeded = await seedUser(server.app, { email: 'burst@example.com' });
    const attempts = await Promise.all(Array.from({ length: 30 }, () => server.app.services.accounts.verifyPassword({ email: seeded.user.email, password: 'wrong password of sorts', ip: '203.0.113.9' })));
    const checked = attempts.filter((a) => !a.ok && a.reason === 'invalid_credentials').length;
    expect(checked).toBeGreaterThanOrEqual(1);
    expect(checked).toBeLessThanOrEqual(5);
  });

  it('an account-page callback link made in another browser does not sign this browser in (login CSRF)', async () => {
    const eve = await seedUser(server.app, { email: 'eve@example.com' });
    const attacker = new Agent();
    let page = await attacker.follow(await attacker.request(new URL('/account/login', server.issuer)), new URL('/account/login', server.issuer));
    const login = readForm(await page.response.text(), /\/login$/);
    const target = new URL(login.action, page.url);
    page = await attacker.follow(await attacker.request(target, { form: { _csrf: login.csrf, email: eve.user.email, password: eve.password } }), target, (u) => u.pathname === '/account/callback');
    expect(page.url.pathname).toBe('/account/callback');
    const victim = new Agent();
    expect((await victim.request(page.url)).status).toBe(400);
    expect((await victim.request(new URL('/account', server.issuer))).status).toBe(303);
  });
});
