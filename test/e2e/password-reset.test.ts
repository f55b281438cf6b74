import * as oidc from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { Browser, createAccountDriver, type Member } from '../helpers/account-driver.ts';
import { readForm } from '../helpers/agent.ts';
import { createTestClock } from '../helpers/clock.ts';
import { linkDriver } from '../helpers/links.ts';
import { authorizationRequest, discoverRp, exchange, open as openRp, signIn as rpSignIn } from '../helpers/rp.ts';
import type { RelyingParty } from '../helpers/rp.ts';
import { seedClient } from '../helpers/seed.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

const NEW_PASSWORD = 'marble kettle lantern orbit';

/**
 * "Forgot password?" end to end: the answer never tells whether an account exists, the emailed link
 * works once, for 30 minutes, and only the newest one; the new password ends every session, refresh
 * and access token, and app passwords when asked; requests are rate-limited per address and per client address;
 * and a reset begun on an application's sign-in page leads back to it.
 */
describe('forgotten passwords', () => {
  const clock = createTestClock();
  let server: TestServer;
  let rp: RelyingParty;
  const driver = createAccountDriver({ server: () => server, clock });
  const links = linkDriver(() => server);
  const { member, withFactors, signIn, open, redirect } = driver;

  beforeAll(async () => {
    server = await startTestServer('sqlite', { clock });
    rp = await discoverRp(server.issuer, await seedClient(server.app));
  });
  afterAll(async () => server?.close());

  /** Each test starts with fresh rate-limit counters: they forget after an hour of the test clock. */
  const nextHour = () => clock.advance(2 * 3_600_000);
  const emailsTo = (to: string) => links.emails().filter((e) => e.to === to);

  async function linkFor(m: Member, b = new Browser()) {
    const before = emailsTo(m.seeded.user.email).length;
    expect((await links.requestLink(b, m.seeded.user.email)).status).toBe(200);
    return links.linkIn(await links.emailTo(m.seeded.user.email, before + 1), 'reset-password');
  }

  async function resetWith(b: Browser, link: URL, fields: Record<string, string> = {}) {
    const form = await links.open(b, link);
    expect(form.url.pathname).toBe('/reset-password');
    return links.submit(b, form, /^\/reset-password$/, { password: NEW_PASSWORD, ...fields });
  }

  it('answers alike for a known, an unknown and a disabled address, and emails only the known one', async () => {
    nextHour();
    const known = await member('kim@example.com');
    const off = await member('otto@example.com');
    await links.disable(off.seeded.user.id, clock.now());
    const answers = [];
    for (const email of ['kim@example.com', 'nobody@example.com', 'otto@example.com']) {
      const response = await links.requestLink(new Browser(), email);
      answers.push({ status: response.status, body: (await response.text()).replace(email, 'EMAIL') });
    }
    expect(answers[0]!.status).toBe(200);
    expect(answers[1]).toEqual(answers[0]);
    expect(answers[2]).toEqual(answers[0]);
    expect(answers[0]!.body).toContain('If an account exists for <strong>EMAIL</strong>, we sent it a link');
    expect(answers[0]!.body).toContain('for 30 minutes');

    const email = await links.emailTo('kim@example.com');
    expect(email.subject).toBe('Reset your Acme Corp password');
    expect(links.linkIn(email, 'reset-password').href.startsWith(`${server.issuer}/reset-password/`)).toBe(true);
    // A later email to the known address is written after whatever the earlier requests did.
    await linkFor(known);
    expect(emailsTo('nobody@example.com')).toEqual([]);
    expect(emailsTo('otto@example.com')).toEqual([]);
    const events = await server.app.services.people.describe(known.seeded.org, known.seeded.user.id);
    expect(events.events.map((e) => e.type)).toContain('password.reset_requested');
  });

  it('refuses a malformed address next to the field, without counting it against anyone', async () => {
    const response = await links.requestLink(new Browser(), 'not an address');
    expect(response.status).toBe(400);
    expect(await response.text()).toMatch(/id="email-error" role="alert">Enter an email address like/);
  });

  it('moves the secret out of the address bar and keeps it out of the Referer', async () => {
    const lee = await member('lee@example.com');
    const link = await linkFor(lee);
    const b = new Browser();
    const first = await b.request(link);
    expect(redirect(first)).toBe('303 /reset-password');
    expect(first.headers.get('referrer-policy')).toBe('no-referrer');
    const page = await links.open(b, '/reset-password');
    expect(page.response.headers.get('referrer-policy')).toBe('no-referrer');
    expect(page.response.headers.get('cache-control')).toBe('no-store');
    expect(await page.response.text()).not.toContain(link.pathname.split('/').at(-1));
  });

  it('works once: the spent link, and another browser that opened it, both get the explanation', async () => {
    const max = await member('max@example.com');
    const link = await linkFor(max);
    const other = new Browser();
    const otherForm = await links.open(other, link);
    const done = await resetWith(new Browser(), link);
    expect(await done.response.text()).toContain('Your password was changed');
    const hash = (await server.app.stores.users.findUserByEmail('max@example.com'))!.passwordHash;

    const again = await links.open(new Browser(), link);
    expect(again.response.status).toBe(410);
    expect(await again.response.text()).toContain('ask for a new link');
    const late = await links.submit(other, otherForm, /^\/reset-password$/, {
      password: 'another fine long passphrase',
    });
    expect(late.response.status).toBe(410);
    expect((await server.app.stores.users.findUserByEmail('max@example.com'))!.passwordHash).toBe(hash);
  });

  it('expires after 30 minutes, also for a page opened before', async () => {
    const ned = await member('ned@example.com');
    const opened = new Browser();
    const form = await links.open(opened, await linkFor(ned));
    clock.advance(30 * 60_000 + 1000);
    expect((await links.open(new Browser(), await linkFor(ned))).response.status).toBe(200);
    clock.advance(30 * 60_000 + 1000);
    const late = await links.submit(opened, form, /^\/reset-password$/, { password: NEW_PASSWORD });
    expect(late.response.status).toBe(410);
    expect(await late.response.text()).toContain('It has expired, was already used, or a newer link replaced it.');
  });

  it('only the newest link works', async () => {
    nextHour();
    const ola = await member('ola@example.com');
    const older = await linkFor(ola);
    const newer = await linkFor(ola);
    expect((await links.open(new Browser(), older)).response.status).toBe(410);
    expect((await links.open(new Browser(), newer)).response.status).toBe(200);
  });

  it('always ends every session, refresh token and access token (issue 8: no box to untick)', async () => {
    const pia = await member('pia@example.com');
    const accountPages = new Browser();
    const app = new Browser();
    await signIn(accountPages, pia);
    const request = await authorizationRequest(rp, { scope: 'openid offline_access', prompt: 'consent' });
    const callback = await rpSignIn(app, rp, request, pia.seeded.user.email, pia.password);
    const tokens = await exchange(rp, callback, request);
    const silently = async () => {
      const silent = await authorizationRequest(rp, { scope: 'openid', prompt: 'none' });
      return (await openRp(app, silent.url, rp.redirectUri)).url.searchParams;
    };
    const isActive = async (token: string) => (await oidc.tokenIntrospection(rp.config, token)).active;
    // Before the reset all of it works.
    expect((await silently()).get('code')).toBeTruthy();
    expect(await isActive(tokens.access_token)).toBe(true);

    // The form has no "sign out everywhere" box any more: a post without it (once "unticked") ends everything.
    const page = await links.open(new Browser(), await linkFor(pia));
    const html = await page.response.text();
    expect(html).not.toContain('name="signOutEverywhere"');
    expect(html).toContain('Every device will be signed out');
    expect(html).toContain('App passwords are separate');
    const done = await resetWith(new Browser(), await linkFor(pia));
    expect(await done.response.text()).toContain('Every device was signed out.');

    expect((await open(accountPages, '/account')).url.pathname).toMatch(/^\/interaction\//);
    const after = await silently();
    expect(after.get('error')).toBe('login_required');
    expect(after.get('code')).toBeNull();
    await expect(oidc.refreshTokenGrant(rp.config, tokens.refresh_token!)).rejects.toMatchObject({
      error: 'invalid_grant',
    });
    expect(await isActive(tokens.access_token)).toBe(false);
    const events = await server.app.services.people.describe(pia.seeded.org, pia.seeded.user.id);
    expect(events.events.find((e) => e.type === 'password.reset')?.detail).toMatchObject({
      signedOutEverywhere: true,
      secondFactor: null,
      // The account pages' browser and the application's.
      sessions: 2,
    });
  });

  it('revokes app passwords only when asked', async () => {
    nextHour();
    const [rae, sam] = [await member('rae@example.com'), await member('sam@example.com')];
    for (const m of [rae, sam]) {
      await withFactors(m);
      await server.app.services.appPasswords.create(
        driver.person(m),
        m.seeded.org,
        true,
        { name: 'Mail', scopes: ['imap'] },
        '127.0.0.1',
      );
    }
    for (const [m, fields] of [
      [rae, { revokeAppPasswords: 'on' }],
      [sam, {}],
    ] as const) {
      const b = new Browser();
      await links.open(b, await linkFor(m));
      const verify = await links.open(b, '/reset-password/verify');
      const totpId = (await driver.factorsOf(m)).find((f) => f.kind === 'totp')!.id;
      const form = await links.submit(b, verify, /\/verify\/totp$/, { factorId: totpId, code: driver.nextCode(m) });
      await links.submit(b, form, /^\/reset-password$/, { password: NEW_PASSWORD, ...fields });
    }
    expect(await server.app.services.appPasswords.list(driver.person(rae))).toEqual([]);
    expect(await server.app.services.appPasswords.list(driver.person(sam))).toHaveLength(1);
  });

  it('rate-limits requests per address, known or not, and per client address', async () => {
    nextHour();
    await member('tia@example.com');
    for (const email of ['tia@example.com', 'ghost@example.com']) {
      const statuses = [];
      for (let i = 0; i < 4; i++) statuses.push((await links.requestLink(new Browser(), email)).status);
      expect(statuses).toEqual([200, 200, 200, 429]);
    }
    const refused = await links.requestLink(new Browser(), 'ghost@example.com');
    expect(refused.headers.get('retry-after')).toBe('1');
    // Issue 8: worded like the other throttle waits (singular), with a countdown for the page's script.
    const refusal = await refused.text();
    expect(refusal).toContain('Too many requests for a link. No link was sent: wait 1 second, then ask again.');
    expect(refusal).toContain(
      'data-countdown="1" data-during="You can ask for a link again in {time}." data-done="You can ask for a link now."',
    );
    expect(emailsTo('tia@example.com').length).toBeLessThanOrEqual(3);
    clock.advance(1000);
    expect((await links.requestLink(new Browser(), 'ghost@example.com')).status).toBe(200);

    nextHour();
    const statuses = [];
    for (let i = 0; i < 21; i++) statuses.push((await links.requestLink(new Browser(), `x${i}@example.com`)).status);
    expect(statuses.slice(0, 20).every((s) => s === 200)).toBe(true);
    expect(statuses[20]).toBe(429);
  });

  it("leads back to the application's sign-in where the reset began", async () => {
    nextHour();
    const uma = await member('uma@example.com');
    const b = new Browser();
    const request = await authorizationRequest(rp);
    const login = await openRp(b, request.url, rp.redirectUri);
    const html = await login.response.text();
    const from = /href="\/forgot-password\?from=([A-Za-z0-9_-]+)">Forgot password\?<\/a>/.exec(html)![1]!;
    const before = emailsTo('uma@example.com').length;
    expect((await links.requestLink(b, 'uma@example.com', from)).status).toBe(200);
    const link = links.linkIn(await links.emailTo('uma@example.com', before + 1), 'reset-password');
    const done = await resetWith(b, link);
    const page = await done.response.text();
    expect(page).toContain(`href="/interaction/${from}">Sign in to Example App</a>`);

    const again = await links.open(b, `/interaction/${from}`);
    const form = readForm(await again.response.text(), /\/login$/);
    const target = new URL(form.action, again.url);
    const posted = await b.request(target, {
      form: { _csrf: form.csrf, email: 'uma@example.com', password: NEW_PASSWORD },
    });
    const landed = await b.follow(posted, target, (next) => next.href.startsWith(rp.redirectUri));
    const consent = readForm(await landed.response.text(), /\/confirm$/);
    const confirmTarget = new URL(consent.action, landed.url);
    const callback = await b.follow(
      await b.request(confirmTarget, { form: { _csrf: consent.csrf } }),
      confirmTarget,
      (next) => next.href.startsWith(rp.redirectUri),
    );
    expect((await exchange(rp, callback.url, request)).claims()!.sub).toBe(uma.seeded.user.id);
    // Elsewhere (the link opened in another browser) the way on is the account.
    const elsewhere = await resetWith(new Browser(), await linkFor(uma));
    expect(await elsewhere.response.text()).toContain('href="/account">Sign in to your account</a>');
  });
});
