import { factorDriver } from '../helpers/factors.ts';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { browserOn, Browser, createAccountDriver, USER_AGENTS, type Form, type Member, type Page } from '../helpers/account-driver.ts';
import { readForm } from '../helpers/agent.ts';
import { createTestClock, startTestServer, type TestServer } from '../helpers/server.ts';
import { readOutbox } from '../helpers/totp.ts';

const elsewhere = () => browserOn(USER_AGENTS.chromeOnWindows);

/**
 * The account pages against forged requests, other people's identifiers, malformed fields,
 * open redirects, garbage callbacks and step-up shortcuts. Each refusal is a clear 4xx page and
 * the stored state is compared before and after. The clock starts an hour in the past (see
 * account.test.ts for why).
 */
describe('account page actions refuse what they must', () => {
  const clock = createTestClock(Date.now() - 3_600_000);
  let server: TestServer;
  let eve: Member, vic: Member, oscar: Member;
  const [browser, eveElsewhere, vicBrowser, vicElsewhere] = [new Browser(), elsewhere(), new Browser(), elsewhere()];

  const { url, open, page, person, factorsOf, preferredOf, lastMessage, member, redirect, withFactors, authenticate, signIn, csrfOf, post, silentSignIn } = createAccountDriver({ server: () => server, clock });
  const trustedIds = (html: string) => [...html.matchAll(/name="id" value="([^"]+)"/g)].map((m) => m[1]!);
  const sessionUids = (html: string) => [...html.matchAll(/name="uid" value="([^"]+)"/g)].map((m) => m[1]!);

  /** A POST with a hand-written body (repeated fields, oversized bodies, JSON). */
  function postRaw(b: Browser, path: string, body: string, type = 'application/x-www-form-urlencoded'): Promise<Response> {
    const target = url(path);
    return fetch(target, { method: 'POST', body, redirect: 'manual', headers: { 'content-type': type, accept: 'text/html', cookie: b.cookieHeader(target) } });
  }

  /** Everything a refused request must leave as it was. */
  async function stateOf(m: Member, b: Browser) {
    const sessions = await page(b, '/account/sessions');
    return {
      factors: (await factorsOf(m)).map((f) => `${f.id}:${f.kind}:${f.active}`).sort(),
      preferred: await preferredOf(m),
      recovery: await server.app.factors.recovery.remaining(person(m)),
      passwordHash: (await server.app.stores.users.findUserByEmail(m.seeded.user.email))!.passwordHash,
      trusted: trustedIds(sessions),
      sessions: sessionUids(sessions),
      outbox: readOutbox(server.environment.config.dataDir).length,
      signedIn: (await open(b, '/account')).url.pathname,
    };
  }

  /** A 4xx error page written for a person, never a 500. */
  async function expectRefusal(response: Response, status: number, message?: string): Promise<void> {
    expect(response.status).toBe(status);
    expect(response.headers.get('content-type')).toMatch(/^text\/html/);
    const html = await response.text();
    expect(html).not.toContain('Something went wrong');
    if (message) expect(html).toContain(message);
  }

  beforeAll(async () => {
    server = await startTestServer('sqlite', { clock });
    await server.app.services.organizations.createOrganization({ slug: 'globex', name: 'Globex', enforceTfa: false });
    eve = await member('eve@example.com', 'acme');
    vic = await member('vic@example.com', 'acme');
    oscar = await member('oscar@globex.example', 'globex');
    for (const [m, phone] of [[eve, '+14155550101'], [vic, '+14155550102'], [oscar, '+14155550103']] as const) await withFactors(m, phone);
    await server.app.factors.store.setPreferredFactorId(vic.seeded.org.id, vic.seeded.user.id, (await factorsOf(vic)).find((f) => f.kind === 'sms')!.id);
    await signIn(vicElsewhere, vic);
    await signIn(vicBrowser, vic, true);
    await signIn(eveElsewhere, eve);
    await signIn(browser, eve, true);
  });
  afterAll(async () => server?.close());

  it('every POST refuses a missing, forged or other browser\'s CSRF token with 403, and nothing changes', async () => {
    const before = await stateOf(eve, browser);
    const [totp, sms] = [(await factorsOf(eve)).find((f) => f.kind === 'totp')!, (await factorsOf(eve)).find((f) => f.kind === 'sms')!];
    const routes: [string, Form][] = [
      ['/account/two-factor/method/totp', { label: 'Forged' }],
      ['/account/two-factor/method/totp/confirm', { factorId: totp.id, code: '123456' }],
      ['/account/two-factor/method/sms', { phone: '+14155550199', kind: 'sms' }],
      ['/account/two-factor/method/sms/confirm', { factorId: sms.id, code: '123456' }],
      ['/account/two-factor/remove', { factorId: totp.id }],
      ['/account/two-factor/preferred', { factorId: sms.id }],
      ['/account/two-factor/disable', {}],
      ['/account/two-factor/recovery-codes', {}],
      ['/account/trusted-browsers/revoke', { id: before.trusted[0]! }],
      ['/account/password', { current: eve.password, password: 'plum orchard violin 42', signOutOthers: 'on' }],
      ['/account/sessions/revoke', { uid: before.sessions[0]! }],
      ['/account/sessions/revoke-all', {}],
      ['/account/logout', {}],
    ];
    const otherBrowsersToken = await csrfOf(eveElsewhere);
    for (const [path, fields] of routes) {
      for (const csrf of [undefined, '', 'forged', randomBytes(32).toString('base64url'), otherBrowsersToken]) {
        const response = await browser.request(url(path), { method: 'POST', form: { ...(csrf === undefined ? {} : { _csrf: csrf }), ...fields } });
        await expectRefusal(response, 403, 'This form has expired or was not sent from this site.');
      }
    }
    const json = JSON.stringify({ _csrf: otherBrowsersToken, passkey: true });
    for (const path of ['/account/two-factor/method/webauthn', '/account/two-factor/method/webauthn/confirm']) expect((await postRaw(browser, path, json, 'application/json')).status).toBe(403);
    expect(await stateOf(eve, browser)).toEqual(before);
  });

  it('another person\'s method id, in this organization or another, gets a 404 in remove and preferred, and their method is untouched', async () => {
    const before = await stateOf(eve, browser);
    const victims = [vic, oscar];
    const theirs = await Promise.all(victims.map(async (m) => ({ factors: await factorsOf(m), preferred: await preferredOf(m) })));
    for (const factor of theirs.flatMap((t) => t.factors)) {
      await expectRefusal(await post(browser, '/account/two-factor/remove', { factorId: factor.id }), 404, 'That method is not on your account.');
      await expectRefusal(await post(browser, '/account/two-factor/preferred', { factorId: factor.id }), 404, 'That method is not on your account.');
    }
    expect(await Promise.all(victims.map(async (m) => ({ factors: await factorsOf(m), preferred: await preferredOf(m) })))).toEqual(theirs);
    expect(await stateOf(eve, browser)).toEqual(before);
  });

  it('another person\'s unfinished setup cannot be confirmed from this account', async () => {
    const pendingTotp = await factorDriver(server.app).beginTotp(person(vic), 'Vic tablet');
    const pendingPhone = { id: (await factorDriver(server.app).beginPhone(person(vic), 'sms', '+14155550104', 'Vic home', `account:${vic.seeded.user.id}`, '203.0.113.9')).factorId };
    const { code } = lastMessage();
    const message = 'This setup has expired. Start again from your two-step verification settings.';
    await expectRefusal(await post(browser, '/account/two-factor/method/totp/confirm', { factorId: pendingTotp.factorId, code: '123456' }), 400, message);
    await expectRefusal(await post(browser, '/account/two-factor/method/sms/confirm', { factorId: pendingPhone.id, code }), 400, message);
    expect((await factorsOf(vic)).filter((f) => f.id === pendingTotp.factorId || f.id === pendingPhone.id).map((f) => f.active)).toEqual([false, false]);
    expect((await factorsOf(eve)).some((f) => f.phone === '+14155550104')).toBe(false);
  });

  it('another person\'s trusted-browser id gets a 404 and that browser stays trusted', async () => {
    const [theirs] = trustedIds(await page(vicBrowser, '/account/sessions'));
    const before = await stateOf(eve, browser);
    await expectRefusal(await post(browser, '/account/trusted-browsers/revoke', { id: theirs! }), 404, 'That browser is not trusted any more.');
    await expectRefusal(await post(browser, '/account/trusted-browsers/revoke', { id: 'garbage' }), 404);
    expect(trustedIds(await page(vicBrowser, '/account/sessions'))).toEqual([theirs]);
    expect(await stateOf(eve, browser)).toEqual(before);
  });

  it('a foreign, garbage, oversized, repeated or missing session uid gets a 404 and no session ends', async () => {
    const [theirs] = sessionUids(await page(vicBrowser, '/account/sessions'));
    const before = await stateOf(eve, browser);
    for (const uid of [theirs!, 'garbage', '', 'x'.repeat(65), '../../session']) {
      await expectRefusal(await post(browser, '/account/sessions/revoke', { uid }), 404, 'That session has already ended.');
    }
    await expectRefusal(await post(browser, '/account/sessions/revoke'), 404);
    const csrf = await csrfOf(browser);
    await expectRefusal(await postRaw(browser, '/account/sessions/revoke', `_csrf=${csrf}&uid=${before.sessions[0]}&uid=${theirs}`), 404);
    expect((await silentSignIn(vicElsewhere)).get('code')).toBeTruthy();
    expect(await stateOf(eve, browser)).toEqual(before);
  });

  it('malformed fields get a 400 and nothing is created or sent', async () => {
    const before = await stateOf(eve, browser);
    const unreadable = 'The form could not be read. Reload the page and try again.';
    const refusals: [string, Form, string][] = [
      ['/account/two-factor/method/pigeon', { phone: '+14155550199' }, 'That method is not available. Choose another one.'],
      ['/account/two-factor/method/sms', { phone: `+1${'4'.repeat(40)}`, kind: 'sms' }, unreadable],
      ['/account/two-factor/method/sms', { phone: '+14155550199', kind: 'sms', label: 'x'.repeat(201) }, unreadable],
      ['/account/two-factor/method/totp', { label: 'x'.repeat(5_000) }, unreadable],
      ['/account/two-factor/remove', { factorId: 'x'.repeat(65) }, unreadable],
      ['/account/two-factor/preferred', { factorId: 'x'.repeat(10_000) }, unreadable],
      ['/account/two-factor/method/totp/confirm', { factorId: 'x', code: '1'.repeat(65) }, unreadable],
      ['/account/password', { current: 'x'.repeat(1_025), password: 'plum orchard violin 42' }, 'That password is too long.'],
      ['/account/password', { current: eve.password, password: 'p'.repeat(1_025) }, 'That password is too long.'],
    ];
    for (const [path, fields, message] of refusals) await expectRefusal(await post(browser, path, fields), 400, message);
    for (const phone of ['123', '+0123456789', '4155550123', '+1 415 CALL NOW']) {
      const response = await post(browser, '/account/two-factor/method/sms', { phone, kind: 'sms' });
      expect(response.status).toBe(400);
      expect(await response.text()).toMatch(/<input id="sms-phone"[^>]*aria-invalid="true"[^]*?id="sms-phone-error" role="alert">Enter the number in international format/);
    }
    const csrf = await csrfOf(browser);
    await expectRefusal(await postRaw(browser, '/account/two-factor/method/sms', `_csrf=${csrf}&phone=%2B14155550199&phone=%2B14155550198`), 400, unreadable);
    await expectRefusal(await postRaw(browser, '/account/two-factor/method/totp', `_csrf=${csrf}&label=${'x'.repeat(40_000)}`), 413, 'What you sent is too large.');
    expect(await stateOf(eve, browser)).toEqual(before);
  });

  it('a wrong or malformed code on an own setup is refused and the method stays inactive', async () => {
    const html = await (await post(browser, '/account/two-factor/method/totp', { label: 'Spare' })).text();
    const factorId = /name="factorId" value="([^"]+)"/.exec(html)![1]!;
    for (const [code, status] of [['abcdef', 400], ['', 400], ['000000', 401]] as const) {
      const response = await post(browser, '/account/two-factor/method/totp/confirm', { factorId, code });
      expect(response.status).toBe(status);
      expect(await response.text()).toContain('role="alert" id="code-error"');
    }
    expect((await factorsOf(eve)).find((f) => f.id === factorId)!.active).toBe(false);
    await expectRefusal(await post(browser, '/account/two-factor/method/totp/confirm', { factorId: (await factorsOf(eve)).find((f) => f.active)!.id, code: '123456' }), 400);
  });

  // BUG: codes to show once are kept per person (`show-codes:<userId>`, account-two-factor.ts), not per
  // account session, and GET /account/recovery-codes needs no step-up: any other browser signed in to the
  // account pages (even one "signed out everywhere else", see account-actions.test.ts) takes the new set.
  it('fresh recovery codes are shown only in the browser that made them', async () => {
    expect(redirect(await post(browser, '/account/two-factor/recovery-codes'))).toBe('303 /account/recovery-codes');
    expect(await page(eveElsewhere, '/account/recovery-codes')).toContain('Your recovery codes were shown already.');
  });

  it('/account/login never sends the browser off-site after sign-in, whatever return_to says', async () => {
    const hostile = ['https://evil.example', '//evil.example', '/\\evil.example', 'https:evil.example', '/account/../../evil', '/account@evil.example', '/account//evil.example', 'javascript:alert(1)'];
    for (const returnTo of hostile) {
      const start = url(`/account/login?return_to=${encodeURIComponent(returnTo)}`);
      const end = await browser.follow(await browser.request(start), start, (next) => next.origin !== new URL(server.issuer).origin);
      expect([end.url.origin, end.url.pathname.startsWith('/account'), end.url.href.includes('evil'), end.response.status], returnTo).toEqual([new URL(server.issuer).origin, true, false, 200]);
      await end.response.arrayBuffer();
    }
    // Through the sign-in pages in a fresh browser as well.
    const fresh = new Browser();
    const { page: landed } = await authenticate(fresh, eve, await open(fresh, '/account/login?return_to=https%3A%2F%2Fevil.example%2Fphish'));
    expect(landed.url.href).toBe(`${server.issuer}/account`);
    // A page of our own is where the person comes back to.
    const own = url('/account/login?return_to=%2Faccount%2Fsessions');
    expect((await browser.follow(await browser.request(own), own)).url.pathname).toBe('/account/sessions');
  });

  it('/account/callback with garbage state or code answers a 4xx page, never a 500, and signs nobody in', async () => {
    const stranger = new Browser();
    const loginState = async () => new URL((await stranger.request(url('/account/login'))).headers.get('location')!).searchParams.get('state')!;
    for (const query of ['', '?state=garbage', `?state=${'A'.repeat(32)}&code=x`, '?state=a&state=b', `?state=${'%00'.repeat(32)}`, '?code=abc']) {
      await expectRefusal(await stranger.request(url(`/account/callback${query}`)), 400, 'This sign-in has expired.');
    }
    for (const code of ['garbage', 'x'.repeat(300), '../../etc/passwd', '']) {
      const state = await loginState();
      await expectRefusal(await stranger.request(url(`/account/callback?state=${state}&code=${encodeURIComponent(code)}`)), 400);
      // The state is spent: it cannot be tried again.
      await expectRefusal(await stranger.request(url(`/account/callback?state=${state}&code=${encodeURIComponent(code)}`)), 400, 'This sign-in has expired.');
    }
    await expectRefusal(await stranger.request(url(`/account/callback?state=${await loginState()}&error=access_denied`)), 403, 'Sign-in was cancelled.');

    // A real code carried to another browser's state fails PKCE (RFC 7636 §4.6): no session there.
    const start = url('/account/login');
    const stolen = await browser.follow(await browser.request(start), start, (next) => next.pathname === '/account/callback');
    const code = stolen.url.searchParams.get('code')!;
    expect(code).toBeTruthy();
    await expectRefusal(await stranger.request(url(`/account/callback?state=${await loginState()}&code=${code}`)), 400, 'Sign-in did not complete.');
    expect((await stranger.request(url('/account'))).headers.get('location')).toBe('/account/login?return_to=%2Faccount');
  });

  describe('step-up re-authentication', () => {
    it('a change made after 301 s goes through the second factor, then completes exactly that change, once', async () => {
      const [totp, sms] = [(await factorsOf(vic)).find((f) => f.kind === 'totp')!, (await factorsOf(vic)).find((f) => f.kind === 'sms' && f.active)!];
      clock.advance(301_000);
      const stale = await post(vicBrowser, '/account/two-factor/remove', { factorId: sms.id });
      expect(redirect(stale)).toMatch(/^303 \/account\/login\?fresh=1&resume=[A-Za-z0-9_-]{22}$/);
      const location = stale.headers.get('location')!;
      expect((await factorsOf(vic)).some((f) => f.id === sms.id)).toBe(true);

      // Someone else's browser cannot pick the change up: it goes back to /account, nothing done.
      expect(redirect(await browser.request(url(`/account/resume/${location.split('resume=')[1]}`)))).toBe('302 /account');

      const authorize = await vicBrowser.request(url(location));
      expect(new URL(authorize.headers.get('location')!).searchParams.get('max_age')).toBe('300');
      const again = await post(vicBrowser, '/account/two-factor/remove', { factorId: sms.id });
      const { page: resumed, steps } = await authenticate(vicBrowser, vic, await open(vicBrowser, again.headers.get('location')!));
      expect(steps).toEqual(['password', 'second-factor']);
      const html = await resumed.response.text();
      const fields = [...html.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)].map((m) => [m[1]!, m[2]!]);
      expect(fields.map(([name]) => name)).toEqual(['_csrf', 'factorId']);
      expect(fields[1]![1]).toBe(sms.id);
      const form = readForm(html, /^\/account\/two-factor\/remove$/);
      expect(redirect(await vicBrowser.request(url(form.action), { form: Object.fromEntries(fields) }))).toBe('303 /account/two-factor?done=removed');
      expect((await factorsOf(vic)).filter((f) => f.active).map((f) => f.id)).toEqual([totp.id]);

      expect(redirect(await vicBrowser.request(resumed.url))).toBe('302 /account');
    });

    it('an unknown or malformed resume id goes back to /account and does nothing', async () => {
      const before = (await factorsOf(vic)).map((f) => f.id);
      for (const id of [randomBytes(16).toString('base64url'), 'not-an-id', 'x'.repeat(200), '%2e%2e%2faccount']) {
        expect(redirect(await vicBrowser.request(url(`/account/resume/${id}`))), id).toBe('302 /account');
      }
      expect((await factorsOf(vic)).map((f) => f.id)).toEqual(before);
    });

    it('the resume page escapes whatever the stale form carried', async () => {
      clock.advance(301_000);
      const hostile = '"><script>alert(1)</script>';
      const stale = await vicBrowser.request(url('/account/two-factor/method/totp'), { form: { _csrf: await csrfOf(vicBrowser), label: hostile, [hostile]: 'x' } });
      const { page: resumed } = await authenticate(vicBrowser, vic, await open(vicBrowser, stale.headers.get('location')!));
      const html = await resumed.response.text();
      expect(html).not.toContain('<script>alert(1)</script>');
      expect(html).toContain('value="&#34;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"');
    });

    /** Eve's pages go stale, she asks for a change and re-authenticates as Oscar: oidc-provider first
     *  ends Eve's session with its auto-submitted logout form, then resumes the interaction. */
    async function switchPersonAtReauthentication(): Promise<{ landed: Page; outcome: string }> {
      const eveBrowser = new Browser();
      await signIn(eveBrowser, eve);
      clock.advance(301_000);
      const location = (await post(eveBrowser, '/account/two-factor/disable')).headers.get('location')!;
      expect(location).toMatch(/^\/account\/login\?fresh=1&resume=/);
      const { page: switching, steps } = await authenticate(eveBrowser, oscar, await open(eveBrowser, location));
      expect(steps).toEqual(['password', 'second-factor']);
      const html = await switching.response.text();
      const action = new URL(/<form method="post" action="([^"]+)">/.exec(html)![1]!);
      expect(action.pathname).toBe('/session/end/confirm');
      const fields = Object.fromEntries([...html.matchAll(/name="([^"]+)" value="([^"]*)"/g)].map((m) => [m[1]!, m[2]!]));
      const landed = await eveBrowser.follow(await eveBrowser.request(action, { form: fields }), action);
      // Whoever this browser is now, the pending change must not go through from here.
      const resume = await eveBrowser.request(url(`/account/resume/${location.split('resume=')[1]}`));
      if (resume.status !== 200) return { landed, outcome: redirect(resume) };
      const form = readForm(await resume.text(), /^\/account\/two-factor\/disable$/);
      return { landed, outcome: redirect(await eveBrowser.request(url(form.action), { form: { _csrf: form.csrf } })) };
    }

    it('re-authenticating as someone else does not complete the first person\'s pending change', async () => {
      const methods = async () => [...(await factorsOf(eve)), ...(await factorsOf(oscar))].map((f) => `${f.id}:${f.active}`).sort();
      const before = await methods();
      const { landed, outcome } = await switchPersonAtReauthentication();
      expect(landed.response.status).toBeLessThan(500);
      expect(outcome).toMatch(/^(302 \/account|303 \/account\/login\?fresh=1&resume=[\w-]+)$/);
      expect(await methods()).toEqual(before);
    });

    // BUG: the SQL (and Redis) oidc model stores file every artifact whose payload has a grantId
    // under that grant, the Interaction included; oidc-provider's end_session/confirm revokes the
    // replaced account's grants, so revokeByGrantId deletes the very interaction it is about to
    // resume, and GET /auth/<uid> answers 400 "interaction session not found" instead of signing
    // the second person in. oidc-provider's reference adapter files only grantable models
    // (AccessToken, AuthorizationCode, RefreshToken, DeviceCode, BackchannelAuthenticationRequest).
    it('switching to another person at re-authentication signs that person in (oidc-provider account switch)', async () => {
      const { landed } = await switchPersonAtReauthentication();
      expect(landed.url.pathname).toBe('/account');
      expect(await landed.response.text()).toContain('oscar@globex.example');
    });
  });
});
