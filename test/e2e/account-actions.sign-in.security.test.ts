import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { Browser, type Member } from '../helpers/account-driver.ts';
import { createRefusalFixture } from '../helpers/account-refusals.ts';
import { readForm } from '../helpers/agent.ts';
import type { TestServer } from '../helpers/server.ts';

/**
 * The account pages' own sign-in against open redirects and garbage callbacks, and step-up
 * re-authentication against shortcuts: a stale change goes through the second factor, completes
 * once, and never for someone else. The set-up: helpers/account-refusals.ts.
 */
describe('account page actions refuse what they must', () => {
  const fixture = createRefusalFixture();
  const {
    url,
    open,
    factorsOf,
    redirect,
    authenticate,
    signIn,
    csrfOf,
    post,
    clock,
    browser,
    vicBrowser,
    expectRefusal,
  } = fixture;
  let server: TestServer;
  let eve: Member, vic: Member, oscar: Member;
  beforeAll(async () => void ({ server, eve, vic, oscar } = await fixture.start()));
  afterAll(() => fixture.close());

  it('/account/login never sends the browser off-site after sign-in, whatever return_to says', async () => {
    const hostile = [
      'https://evil.example',
      '//evil.example',
      '/\\evil.example',
      'https:evil.example',
      '/account/../../evil',
      '/account@evil.example',
      '/account//evil.example',
      'javascript:alert(1)',
    ];
    for (const returnTo of hostile) {
      const start = url(`/account/login?return_to=${encodeURIComponent(returnTo)}`);
      const end = await browser.follow(
        await browser.request(start),
        start,
        (next) => next.origin !== new URL(server.issuer).origin,
      );
      expect(
        [end.url.origin, end.url.pathname.startsWith('/account'), end.url.href.includes('evil'), end.response.status],
        returnTo,
      ).toEqual([new URL(server.issuer).origin, true, false, 200]);
      await end.response.arrayBuffer();
    }
    // Through the sign-in pages in a fresh browser as well.
    const fresh = new Browser();
    const { page: landed } = await authenticate(
      fresh,
      eve,
      await open(fresh, '/account/login?return_to=https%3A%2F%2Fevil.example%2Fphish'),
    );
    expect(landed.url.href).toBe(`${server.issuer}/account`);
    // A page of our own is where the person comes back to.
    const own = url('/account/login?return_to=%2Faccount%2Fsessions');
    expect((await browser.follow(await browser.request(own), own)).url.pathname).toBe('/account/sessions');
  });

  it('/account/callback with garbage state or code answers a 4xx page, never a 500, and signs nobody in', async () => {
    const stranger = new Browser();
    const loginState = async () =>
      new URL((await stranger.request(url('/account/login'))).headers.get('location')!).searchParams.get('state')!;
    for (const query of [
      '',
      '?state=garbage',
      `?state=${'A'.repeat(32)}&code=x`,
      '?state=a&state=b',
      `?state=${'%00'.repeat(32)}`,
      '?code=abc',
    ]) {
      await expectRefusal(await stranger.request(url(`/account/callback${query}`)), 400, 'This sign-in has expired.');
    }
    for (const code of ['garbage', 'x'.repeat(300), '../../etc/passwd', '']) {
      const state = await loginState();
      await expectRefusal(
        await stranger.request(url(`/account/callback?state=${state}&code=${encodeURIComponent(code)}`)),
        400,
      );
      // The state is spent: it cannot be tried again.
      await expectRefusal(
        await stranger.request(url(`/account/callback?state=${state}&code=${encodeURIComponent(code)}`)),
        400,
        'This sign-in has expired.',
      );
    }
    // A cancelled sign-in is told calmly (issue 8), and signs nobody in either.
    const cancelled = await stranger.request(url(`/account/callback?state=${await loginState()}&error=access_denied`));
    expect(redirect(cancelled)).toBe('303 /account/sign-in-cancelled?return_to=%2Faccount');
    expect(cancelled.headers.get('set-cookie') ?? '').not.toMatch(/twofold\.account=[^;]/);

    // A real code carried to another browser's state fails PKCE (RFC 7636 §4.6): no session there.
    const start = url('/account/login');
    const stolen = await browser.follow(
      await browser.request(start),
      start,
      (next) => next.pathname === '/account/callback',
    );
    const code = stolen.url.searchParams.get('code')!;
    expect(code).toBeTruthy();
    await expectRefusal(
      await stranger.request(url(`/account/callback?state=${await loginState()}&code=${code}`)),
      400,
      'Sign-in did not complete.',
    );
    expect((await stranger.request(url('/account'))).headers.get('location')).toBe(
      '/account/login?return_to=%2Faccount',
    );
  });

  describe('step-up re-authentication', () => {
    it('a change made after 301 s goes through the second factor, then completes exactly that change, once', async () => {
      const [totp, sms] = [
        (await factorsOf(vic)).find((f) => f.kind === 'totp')!,
        (await factorsOf(vic)).find((f) => f.kind === 'sms' && f.active)!,
      ];
      clock.advance(301_000);
      const stale = await post(vicBrowser, '/account/two-factor/remove', { factorId: sms.id });
      expect(redirect(stale)).toMatch(/^303 \/account\/login\?fresh=1&resume=[A-Za-z0-9_-]{22}$/);
      const location = stale.headers.get('location')!;
      expect((await factorsOf(vic)).some((f) => f.id === sms.id)).toBe(true);

      // Someone else's browser cannot pick the change up: it goes back to /account, nothing done.
      expect(redirect(await browser.request(url(`/account/resume/${location.split('resume=')[1]}`)))).toBe(
        '302 /account',
      );

      const authorize = await vicBrowser.request(url(location));
      expect(new URL(authorize.headers.get('location')!).searchParams.get('max_age')).toBe('300');
      const again = await post(vicBrowser, '/account/two-factor/remove', { factorId: sms.id });
      const { page: resumed, steps } = await authenticate(
        vicBrowser,
        vic,
        await open(vicBrowser, again.headers.get('location')!),
      );
      expect(steps).toEqual(['password', 'second-factor']);
      const html = await resumed.response.text();
      const fields = [...html.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)].map((m) => [
        m[1]!,
        m[2]!,
      ]);
      expect(fields.map(([name]) => name)).toEqual(['_csrf', 'factorId']);
      expect(fields[1]![1]).toBe(sms.id);
      const form = readForm(html, /^\/account\/two-factor\/remove$/);
      expect(redirect(await vicBrowser.request(url(form.action), { form: Object.fromEntries(fields) }))).toBe(
        '303 /account/two-factor?done=removed',
      );
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
      const stale = await vicBrowser.request(url('/account/two-factor/method/totp'), {
        form: { _csrf: await csrfOf(vicBrowser), label: hostile, [hostile]: 'x' },
      });
      const { page: resumed } = await authenticate(
        vicBrowser,
        vic,
        await open(vicBrowser, stale.headers.get('location')!),
      );
      const html = await resumed.response.text();
      expect(html).not.toContain('<script>alert(1)</script>');
      expect(html).toContain('value="&#34;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"');
    });

    /** Eve's pages go stale, she asks for a change and re-authenticates as Oscar: oidc-provider first
     *  ends Eve's session with its auto-submitted logout form, then resumes the interaction. */
    // The re-authentication page shows the session's account as text (issue 8): another person's
    // email posted there is ignored: the sign-in continues as that account, nothing is completed.
    it("re-authentication stays with the session's person whatever email is posted, and the pending change waits for them", async () => {
      const methods = async () =>
        [...(await factorsOf(eve)), ...(await factorsOf(oscar))].map((f) => `${f.id}:${f.active}`).sort();
      const before = await methods();
      const eveBrowser = new Browser();
      await signIn(eveBrowser, eve);
      clock.advance(301_000);
      const location = (await post(eveBrowser, '/account/two-factor/disable')).headers.get('location')!;
      expect(location).toMatch(/^\/account\/login\?fresh=1&resume=/);
      const reauth = await open(eveBrowser, location);
      const html = await reauth.response.text();
      expect(html).toContain(eve.seeded.user.email);
      expect(html).not.toMatch(/<input[^>]*id="email"/);
      const form = readForm(html, /\/login$/);
      const target = new URL(form.action, reauth.url);
      const next = await eveBrowser.follow(
        await eveBrowser.request(target, {
          form: { _csrf: form.csrf, email: oscar.seeded.user.email, password: oscar.password },
        }),
        target,
      );
      // Eve's own second step follows (the posted email is ignored); Oscar is not signed in here.
      expect(next.url.pathname).toMatch(/\/verify$/);
      expect(await next.response.text()).not.toContain(oscar.seeded.user.email);
      expect(await methods()).toEqual(before);
    });
  });
});
