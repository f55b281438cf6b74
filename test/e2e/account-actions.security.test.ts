import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { Form, Member } from '../helpers/account-driver.ts';
import { createRefusalFixture } from '../helpers/account-refusals.ts';

/**
 * The account pages against forged requests and malformed fields. Each refusal is a clear 4xx page
 * and the stored state is compared before and after. Other people's identifiers and other browsers:
 * account-actions.isolation.security.test.ts; open redirects, garbage callbacks and step-up
 * shortcuts: account-actions.sign-in.security.test.ts. The set-up: helpers/account-refusals.ts.
 */
describe('account page actions refuse what they must', () => {
  const fixture = createRefusalFixture();
  const { url, factorsOf, csrfOf, post, browser, eveElsewhere, postRaw, stateOf, expectRefusal } = fixture;
  let eve: Member;
  beforeAll(async () => void ({ eve } = await fixture.start()));
  afterAll(() => fixture.close());

  it("every POST refuses a missing, forged or other browser's CSRF token with 403, and nothing changes", async () => {
    const before = await stateOf(eve, browser);
    const [totp, sms] = [
      (await factorsOf(eve)).find((f) => f.kind === 'totp')!,
      (await factorsOf(eve)).find((f) => f.kind === 'sms')!,
    ];
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
        const response = await browser.request(url(path), {
          method: 'POST',
          form: { ...(csrf === undefined ? {} : { _csrf: csrf }), ...fields },
        });
        await expectRefusal(response, 403, 'This form has expired or was not sent from this site.');
      }
    }
    const json = JSON.stringify({ _csrf: otherBrowsersToken, passkey: true });
    for (const path of ['/account/two-factor/method/webauthn', '/account/two-factor/method/webauthn/confirm'])
      expect((await postRaw(browser, path, json, 'application/json')).status).toBe(403);
    expect(await stateOf(eve, browser)).toEqual(before);
  });

  it('malformed fields get a 400 and nothing is created or sent', async () => {
    const before = await stateOf(eve, browser);
    const unreadable = 'The form could not be read. Reload the page and try again.';
    const refusals: [string, Form, string][] = [
      [
        '/account/two-factor/method/pigeon',
        { phone: '+14155550199' },
        'That method is not available. Choose another one.',
      ],
      ['/account/two-factor/method/sms', { phone: `+1${'4'.repeat(200)}`, kind: 'sms' }, unreadable],
      ['/account/two-factor/method/sms', { phone: '+14155550199', country: 'x'.repeat(65) }, unreadable],
      ['/account/two-factor/method/sms', { phone: '+14155550199', kind: 'sms', label: 'x'.repeat(201) }, unreadable],
      ['/account/two-factor/method/totp', { label: 'x'.repeat(5_000) }, unreadable],
      ['/account/two-factor/remove', { factorId: 'x'.repeat(65) }, unreadable],
      ['/account/two-factor/preferred', { factorId: 'x'.repeat(10_000) }, unreadable],
      ['/account/two-factor/method/totp/confirm', { factorId: 'x', code: '1'.repeat(65) }, unreadable],
      [
        '/account/password',
        { current: 'x'.repeat(1_025), password: 'plum orchard violin 42' },
        'That password is too long.',
      ],
      ['/account/password', { current: eve.password, password: 'p'.repeat(1_025) }, 'That password is too long.'],
    ];
    for (const [path, fields, message] of refusals)
      await expectRefusal(await post(browser, path, fields), 400, message);
    // Issue 8: the refusal says what the hint says, naming the country chosen (none: the organization has no default).
    for (const phone of ['123', '+0123456789', '4155550123', '+1 415 CALL NOW', `+1${'4'.repeat(40)}`]) {
      const response = await post(browser, '/account/two-factor/method/sms', { phone, kind: 'sms' });
      expect(response.status).toBe(400);
      expect(await response.text()).toMatch(
        /<input id="sms-phone"[^>]*aria-invalid="true"[^]*?id="sms-phone-error" role="alert">That is not a valid number. Enter your number as you would dial it in the country chosen \(none is chosen\), or in international format starting with\u00a0\+./,
      );
    }
    const csrf = await csrfOf(browser);
    await expectRefusal(
      await postRaw(
        browser,
        '/account/two-factor/method/sms',
        `_csrf=${csrf}&phone=%2B14155550199&phone=%2B14155550198`,
      ),
      400,
      unreadable,
    );
    await expectRefusal(
      await postRaw(browser, '/account/two-factor/method/totp', `_csrf=${csrf}&label=${'x'.repeat(40_000)}`),
      413,
      'What you sent is too large.',
    );
    expect(await stateOf(eve, browser)).toEqual(before);
  });

  it('a wrong or malformed code on an own setup is refused and the method stays inactive', async () => {
    const html = await (await post(browser, '/account/two-factor/method/totp', { label: 'Spare' })).text();
    const factorId = /name="factorId" value="([^"]+)"/.exec(html)![1]!;
    for (const [code, status] of [
      ['abcdef', 400],
      ['', 400],
      ['000000', 401],
    ] as const) {
      const response = await post(browser, '/account/two-factor/method/totp/confirm', { factorId, code });
      expect(response.status).toBe(status);
      expect(await response.text()).toContain('role="alert" id="code-error"');
    }
    expect((await factorsOf(eve)).find((f) => f.id === factorId)!.active).toBe(false);
    await expectRefusal(
      await post(browser, '/account/two-factor/method/totp/confirm', {
        factorId: (await factorsOf(eve)).find((f) => f.active)!.id,
        code: '123456',
      }),
      400,
    );
  });
});
