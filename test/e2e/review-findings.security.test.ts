import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { ACR_MFA } from '../../src/domain/authentication.ts';
import { Agent, readForm } from '../helpers/agent.ts';
import { authorizationRequest, discoverRp, exchange, open, submitLogin, type RelyingParty } from '../helpers/rp.ts';
import { enrolTotp, seedClient, seedUser, type Seeded } from '../helpers/seed.ts';
import { createTestClock } from '../helpers/clock.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { factorDriver } from '../helpers/factors.ts';
import { readOutbox, totpAt } from '../helpers/totp.ts';

/** Regressions for the findings of the first security review, each named after its threat. */
describe('security review regressions', () => {
  const clock = createTestClock(Date.now() - 1_200_000);
  let server: TestServer;
  let rp: RelyingParty;

  beforeAll(async () => {
    server = await startTestServer('sqlite', { clock });
    rp = await discoverRp(server.issuer, await seedClient(server.app, { firstParty: true, accountApi: true }));
  });
  afterAll(async () => server?.close());

  const personOf = (s: Seeded) => ({ orgId: s.org.id, userId: s.user.id, email: s.user.email });

  async function afterPassword(agent: Agent, seeded: Seeded, extra: Record<string, string> = {}) {
    const request = await authorizationRequest(rp, extra);
    return submitLogin(
      agent,
      await open(agent, request.url, rp.redirectUri),
      seeded.user.email,
      seeded.password,
      rp.redirectUri,
    );
  }

  it("a stolen password cannot enrol a new factor in place of the victim's own (enrolment bypass)", async () => {
    const victim = await seedUser(server.app, {
      slug: 'enforcing',
      email: 'victim@enforcing.example',
      enforceTfa: true,
    });
    await enrolTotp(server.app, victim, clock.now());
    clock.advance(30_000);
    for (const extra of [{}, { acr_values: ACR_MFA }] as Record<string, string>[]) {
      const agent = new Agent();
      const page = await afterPassword(agent, victim, extra);
      expect(page.url.pathname).toMatch(/\/verify$/);
      const csrf = readForm(await page.response.text(), /\/verify\/[a-z]+$/).csrf;
      const enrol = new URL(page.url.pathname.replace(/verify$/, 'enrol'), server.issuer);
      expect((await agent.request(enrol)).status).toBe(400);
      expect(
        (await agent.request(new URL(`${enrol.pathname}/method/totp`, server.issuer), { form: { _csrf: csrf } }))
          .status,
      ).toBe(400);
      expect(
        (
          await agent.request(new URL(`${enrol.pathname}/method/sms`, server.issuer), {
            form: { _csrf: csrf, phone: '+14155550111', kind: 'sms' },
          })
        ).status,
      ).toBe(400);
    }
    expect((await server.app.factors.store.findFactors(victim.org.id, victim.user.id)).map((f) => f.label)).toEqual([
      'Phone',
    ]);
  });

  it('a trusted browser does not skip the second factor when the client demands a fresh sign-in (max_age)', async () => {
    const seeded = await seedUser(server.app, { email: 'trusted@example.com' });
    const { secret } = await enrolTotp(server.app, seeded, clock.now());
    clock.advance(30_000);
    const agent = new Agent();
    const first = await afterPassword(agent, seeded);
    const html = await first.response.text();
    const form = readForm(html, /\/verify\/[a-z]+$/);
    const factorId = /name="factorId" value="([^"]+)"/.exec(html)![1]!;
    const target = new URL(form.action, first.url);
    const trusted = await agent.request(target, {
      form: { _csrf: form.csrf, factorId, code: totpAt(secret, clock.now() / 1000), trust: 'on' },
    });
    expect(trusted.status).toBe(303);
    const keep = agent.cookies.filter((c) => c.name === 'twofold.trusted' || c.name === 'twofold.csrf');
    expect(keep.map((c) => c.name)).toContain('twofold.trusted');

    // Same browser, its session gone: the password is enough for an ordinary sign-in …
    const ordinary = new Agent();
    ordinary.cookies.push(...keep);
    const request = await authorizationRequest(rp);
    const landed = await submitLogin(
      ordinary,
      await open(ordinary, request.url, rp.redirectUri),
      seeded.user.email,
      seeded.password,
      rp.redirectUri,
    );
    expect(landed.url.href.startsWith(rp.redirectUri)).toBe(true);
    // That password-only token, however fresh, cannot change two-step settings of a person who has a factor.
    const tokens = await exchange(rp, landed.url, request);
    expect(tokens.claims()!.acr).not.toBe(ACR_MFA);
    const change = await fetch(`${server.issuer}/api/account/recovery-codes`, {
      method: 'POST',
      headers: { authorization: `Bearer ${tokens.access_token}`, accept: 'application/json' },
    });
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
    let page = await agent.follow(
      await agent.request(new URL('/account', server.issuer)),
      new URL('/account', server.issuer),
    );
    const login = readForm(await page.response.text(), /\/login$/);
    const target = new URL(login.action, page.url);
    page = await agent.follow(
      await agent.request(target, { form: { _csrf: login.csrf, email: seeded.user.email, password: seeded.password } }),
      target,
    );
    expect(page.url.pathname).toBe('/account');
    // … then a factor appears by another way (another browser): the password-only session is not enough now.
    await enrolTotp(server.app, seeded, clock.now());
    clock.advance(30_000);
    const csrf = /name="_csrf" value="([^"]+)"/.exec(await page.response.text())![1]!;
    const change = await agent.request(new URL('/account/two-factor/recovery-codes', server.issuer), {
      form: { _csrf: csrf },
    });
    expect(change.status).toBe(303);
    expect(change.headers.get('location')).toMatch(/^\/account\/login\?fresh=1&resume=/);
    const authorize = await agent.request(new URL(change.headers.get('location')!, server.issuer));
    expect(new URL(authorize.headers.get('location')!).searchParams.get('acr_values')).toBe(ACR_MFA);
  });

  it('junk passkey attempts slow down only the address they come from, not passkey sign-in for everyone', async () => {
    const proxied = await startTestServer('sqlite', { overrides: { trustProxy: true } });
    try {
      const proxiedRp = await discoverRp(proxied.issuer, await seedClient(proxied.app, { firstParty: true }));
      const agent = new Agent();
      const request = await authorizationRequest(proxiedRp);
      const page = await open(agent, request.url, proxiedRp.redirectUri);
      const csrf = readForm(await page.response.text(), /\/login$/).csrf;
      const url = new URL(`${page.url.pathname}/passwordless/webauthn`, proxied.issuer);
      const send = (from: string, id: string) =>
        fetch(url, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            accept: 'application/json',
            'x-forwarded-for': from,
            cookie: agent.cookieHeader(url),
          },
          body: JSON.stringify({ _csrf: csrf, credential: { id, rawId: id, type: 'public-key', response: {} } }),
        });
      const statuses: number[] = [];
      // Naming the victim's credential id does not help the attacker: only their address slows down.
      for (let i = 0; i < 8; i++) statuses.push((await send('198.51.100.7', 'victims-credential')).status);
      expect(statuses).toContain(429);
      // Another address is refused for the junk itself (no challenge was asked for: 410), never throttled.
      expect((await send('203.0.113.50', 'victims-credential')).status).toBe(410);
    } finally {
      await proxied.close();
    }
  });

  it("enrolling a stranger's number does not use up that person's sign-in codes", async () => {
    const owner = await seedUser(server.app, { email: 'owner@example.com' });
    const number = '+14155550177';
    const factors = factorDriver(server.app);
    const { factorId } = await factors.beginPhone(personOf(owner), 'sms', number, null, 'enrol', '127.0.0.9');
    const code = readOutbox(server.environment.config.dataDir).at(-1)!.code;
    expect((await factors.confirmPhone(personOf(owner), 'sms', factorId, code, 'enrol')).ok).toBe(true);
    const stranger = await seedUser(server.app, { email: 'stranger@example.com' });
    for (let i = 0; i < 6; i++) await factors.beginPhone(personOf(stranger), 'sms', number, null, `e${i}`, '127.0.0.8');
    expect(await factors.sendCode(personOf(owner), 'sms', factorId, 'signin', '127.0.0.7')).toEqual({
      ok: true,
      model: {},
    });
    // And unfinished enrolments do not pile up: one per person.
    expect((await server.app.factors.store.findFactors(stranger.org.id, stranger.user.id)).length).toBe(1);
  });

  it('a concurrent burst of wrong passwords cannot exceed the attempt budget', async () => {
    const seeded = await seedUser(server.app, { email: 'burst@example.com' });
    const attempts = await Promise.all(
      Array.from({ length: 30 }, () =>
        server.app.services.accounts.verifyPassword({
          email: seeded.user.email,
          password: 'wrong password of sorts',
          ip: '203.0.113.9',
        }),
      ),
    );
    const checked = attempts.filter((a) => !a.ok && a.reason === 'invalid_credentials').length;
    expect(checked).toBeGreaterThanOrEqual(1);
    expect(checked).toBeLessThanOrEqual(5);
  });

  it('a concurrent burst of guesses across many accounts from one address cannot exceed the per-address budget', async () => {
    const free = server.app.config.throttle.ip.freeAttempts;
    const attempts = await Promise.all(
      Array.from({ length: 150 }, (_, i) =>
        server.app.services.accounts.verifyPassword({
          email: `spray-${i}@example.com`,
          password: 'Summer2026!',
          ip: '198.51.100.99',
        }),
      ),
    );
    const checked = attempts.filter((a) => !a.ok && a.reason === 'invalid_credentials').length;
    expect(checked).toBeGreaterThan(0);
    expect(checked).toBeLessThanOrEqual(free + 5);
  });

  it('a malformed acr request in the claims parameter is treated as not asking for MFA, never a 500', async () => {
    const seeded = await seedUser(server.app, { email: 'claims@example.com' });
    const claims = JSON.stringify({ id_token: { acr: { values: ACR_MFA } } });
    const page = await afterPassword(new Agent(), seeded, { claims });
    expect(page.response.status).toBeLessThan(500);
    expect(page.url.href.startsWith(rp.redirectUri)).toBe(true);
  });

  it('an account-page callback link made in another browser does not sign this browser in (login CSRF)', async () => {
    const eve = await seedUser(server.app, { email: 'eve@example.com' });
    const attacker = new Agent();
    let page = await attacker.follow(
      await attacker.request(new URL('/account/login', server.issuer)),
      new URL('/account/login', server.issuer),
    );
    const login = readForm(await page.response.text(), /\/login$/);
    const target = new URL(login.action, page.url);
    page = await attacker.follow(
      await attacker.request(target, { form: { _csrf: login.csrf, email: eve.user.email, password: eve.password } }),
      target,
      (u) => u.pathname === '/account/callback',
    );
    expect(page.url.pathname).toBe('/account/callback');
    const victim = new Agent();
    expect((await victim.request(page.url)).status).toBe(400);
    expect((await victim.request(new URL('/account', server.issuer))).status).toBe(303);
  });

  it('a pending change can be finished only by the browser that asked for it, not by a link opened elsewhere', async () => {
    const seeded = await seedUser(server.app, { email: 'resume-owner@example.com' });
    const attacker = new Agent();
    let page = await attacker.follow(
      await attacker.request(new URL('/account', server.issuer)),
      new URL('/account', server.issuer),
    );
    const login = readForm(await page.response.text(), /\/login$/);
    const target = new URL(login.action, page.url);
    page = await attacker.follow(
      await attacker.request(target, {
        form: { _csrf: login.csrf, email: seeded.user.email, password: seeded.password },
      }),
      target,
    );
    const { secret } = await enrolTotp(server.app, seeded, clock.now());
    clock.advance(30_000);
    const csrf = /name="_csrf" value="([^"]+)"/.exec(await page.response.text())![1]!;
    const asked = await attacker.request(new URL('/account/two-factor/disable', server.issuer), {
      form: { _csrf: csrf },
    });
    const resumeId = new URL(asked.headers.get('location')!, server.issuer).searchParams.get('resume')!;
    expect(resumeId).toBeTruthy();

    // The victim, signed in to the account pages in their own browser, is sent the link.
    const victim = new Agent();
    const start = await victim.follow(
      await victim.request(new URL('/account', server.issuer)),
      new URL('/account', server.issuer),
    );
    const victimLogin = readForm(await start.response.text(), /\/login$/);
    const victimTarget = new URL(victimLogin.action, start.url);
    const step = await victim.follow(
      await victim.request(victimTarget, {
        form: { _csrf: victimLogin.csrf, email: seeded.user.email, password: seeded.password },
      }),
      victimTarget,
    );
    const stepHtml = await step.response.text();
    const verify = readForm(stepHtml, /\/verify\/[a-z]+$/);
    const verifyTarget = new URL(verify.action, step.url);
    const factorId = /name="factorId" value="([^"]+)"/.exec(stepHtml)![1]!;
    const signedIn = await victim.follow(
      await victim.request(verifyTarget, {
        form: { _csrf: verify.csrf, factorId, code: totpAt(secret, clock.now() / 1000) },
      }),
      verifyTarget,
    );
    expect(signedIn.url.pathname).toBe('/account');
    const openedUrl = new URL(`/account/resume/${resumeId}`, server.issuer);
    const opened = await victim.follow(await victim.request(openedUrl), openedUrl);
    // Whatever the victim's sign-in state, the page never carries the attacker's change.
    expect(await opened.response.text()).not.toContain('/account/two-factor/disable');
    expect(
      (await server.app.factors.store.findFactors(seeded.org.id, seeded.user.id)).filter((f) => f.active),
    ).toHaveLength(1);
  });

  it('changing the password needs a sign-in with the second factor, and ends every trusted browser', async () => {
    const seeded = await seedUser(server.app, { email: 'pw-change@example.com' });
    const agent = new Agent();
    let page = await agent.follow(
      await agent.request(new URL('/account', server.issuer)),
      new URL('/account', server.issuer),
    );
    const login = readForm(await page.response.text(), /\/login$/);
    const target = new URL(login.action, page.url);
    page = await agent.follow(
      await agent.request(target, { form: { _csrf: login.csrf, email: seeded.user.email, password: seeded.password } }),
      target,
    );
    await enrolTotp(server.app, seeded, clock.now());
    clock.advance(30_000);
    await server.app.services.accounts.verifyPassword({
      email: seeded.user.email,
      password: seeded.password,
      ip: '127.0.0.1',
    });
    const csrf = /name="_csrf" value="([^"]+)"/.exec(await page.response.text())![1]!;
    const change = await agent.request(new URL('/account/password', server.issuer), {
      form: { _csrf: csrf, current: seeded.password, password: 'a brand new passphrase here' },
    });
    // Issue 8: a form with passwords is not kept across the sign-in; the person comes back to type it.
    expect(change.headers.get('location')).toBe('/account/login?fresh=1&return_to=%2Faccount%2Fpassword');
    expect(
      (
        await server.app.services.accounts.verifyPassword({
          email: seeded.user.email,
          password: seeded.password,
          ip: '127.0.0.1',
        })
      ).ok,
    ).toBe(true);
  });

  it('CORS never answers the opaque origin "null" of private-use redirect schemes', async () => {
    await seedClient(server.app, { id: 'cors-native', public: true, redirectUri: 'com.example.cors:/cb' });
    const response = await fetch(`${server.issuer}/token`, {
      method: 'POST',
      headers: { origin: 'null', 'content-type': 'application/x-www-form-urlencoded' },
      body: 'grant_type=authorization_code&code=x&client_id=cors-native',
    });
    expect(response.headers.get('access-control-allow-origin')).toBeNull();
  });
});
