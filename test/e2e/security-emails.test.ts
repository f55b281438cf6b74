import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { utcText } from '../../src/domain/security-notice-texts.ts';
import { browserOn, createAccountDriver, type Member } from '../helpers/account-driver.ts';
import { readForm } from '../helpers/agent.ts';
import { createTestClock } from '../helpers/clock.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { smtpMail, startSmtpServer, type ReceivedEmail, type TestSmtpServer } from '../helpers/smtp.ts';
import { readOutbox, secretFromUri } from '../helpers/totp.ts';

const FIREFOX_ON_WINDOWS = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0';

/**
 * The security emails of a person's own changes, as they arrive at a real SMTP server on loopback
 * (the app runs with `mail.driver: smtp`), each caused through the real server's pages. Every email
 * says what happened, when, from which browser and address, and what to do if it was not them.
 * The clock starts an hour back, as in the account tests. Administrators' changes, replays and
 * recovery codes: security-emails.security.test.ts; an SMTP server that fails: .failures.test.ts.
 */
describe('security emails for a person’s own changes', () => {
  const clock = createTestClock(Date.now() - 3_600_000);
  let smtp: TestSmtpServer;
  let server: TestServer;
  const driver = createAccountDriver({ server: () => server, clock });
  const { member, signIn, post, page, redirect, withFactors, open, nextCode } = driver;

  beforeAll(async () => {
    smtp = await startSmtpServer();
    server = await startTestServer('sqlite', { clock, overrides: smtpMail(smtp.url) });
  });
  afterAll(async () => {
    await server?.close();
    await smtp?.close();
  });

  const eventOf = async (m: Member, type: string) =>
    (await server.app.stores.audit.listAuditEvents(m.seeded.org.id, m.seeded.user.id, 50)).find(
      (e) => e.type === type,
    )!;

  /** The email arrived for `m` about the latest `type` event, with when, browser, address and advice. */
  async function expectNotice(
    m: Member,
    type: string,
    subject: string,
    options: { containing?: string; browser?: string } = {},
  ): Promise<ReceivedEmail> {
    const email = await smtp.waitFor(m.seeded.user.email, subject, { containing: options.containing });
    const event = await eventOf(m, type);
    expect(email.from).toEqual({ name: 'Twofold Security', address: 'security@twofold.test' });
    expect(email.text).toContain(`When: ${utcText(event.at)}`);
    expect(email.text).toContain(`Browser: ${options.browser ?? 'Firefox 128 on Windows 10'}`);
    expect(email.text).toContain(`Address: ${event.ip}`);
    expect(email.text).toContain(`${server.issuer}/account`);
    expect(email.text).toContain('contact your administrator');
    return email;
  }

  it('tells the person of a sign-in from a browser new to the account, and not of the next one from it', async () => {
    const nina = await member('nina@acme.example');
    const firstVisit = browserOn(FIREFOX_ON_WINDOWS);
    await signIn(firstVisit, nina);
    const email = await expectNotice(nina, 'signin.succeeded', 'New sign-in to your account');
    expect(email.to).toEqual(['nina@acme.example']);
    expect(email.text).toContain('from a browser that has not signed in to it before');

    // The same browser, its sign-in session over but its device cookie kept, signs in again.
    const again = browserOn(FIREFOX_ON_WINDOWS);
    again.cookies.push(...firstVisit.cookies.filter((c) => c.name.endsWith('twofold-device')));
    await signIn(again, nina);
    await server.app.services.notices.settled();
    expect(smtp.to('nina@acme.example').filter((e) => e.subject === 'New sign-in to your account')).toHaveLength(1);
    const signIns = (await server.app.stores.audit.listAuditEvents(nina.seeded.org.id, nina.seeded.user.id, 50))
      .filter((e) => e.type === 'signin.succeeded')
      .map((e) => e.detail.newBrowser);
    expect(signIns.sort()).toEqual([false, true]);
  });

  it('tells of each method added and removed and of two-step verification turned off', async () => {
    const omar = await member('omar@acme.example');
    const browser = browserOn(FIREFOX_ON_WINDOWS);
    await signIn(browser, omar);
    const begin = await post(browser, '/account/two-factor/method/totp', { label: 'Pixel 8' });
    const html = await begin.text();
    const seed = /data-testid="manual-key">([A-Z2-7 ]+)</.exec(html)![1]!.replaceAll(' ', '');
    omar.secret = secretFromUri(`otpauth://x?secret=${seed}`);
    const factorId = /name="factorId" value="([^"]+)"/.exec(html)![1]!;
    const confirmed = await post(browser, '/account/two-factor/method/totp/confirm', {
      factorId,
      code: nextCode(omar),
    });
    expect(redirect(confirmed)).toBe('303 /account/recovery-codes');
    await expectNotice(omar, 'tfa.method_added', 'A two-step verification method was added to your account', {
      containing: 'Authenticator app',
    });

    const sent = await post(browser, '/account/two-factor/method/sms', { phone: '+14155550123', label: 'Work' });
    const smsId = /name="factorId" value="([^"]+)"/.exec(await sent.text())![1]!;
    const code = readOutbox(server.environment.config.dataDir).at(-1)!.code;
    await post(browser, '/account/two-factor/method/sms/confirm', { factorId: smsId, code });
    await expectNotice(omar, 'tfa.method_added', 'A two-step verification method was added to your account', {
      containing: 'Text message',
    });

    expect(redirect(await post(browser, '/account/two-factor/remove', { factorId: smsId }))).toBe(
      '303 /account/two-factor?done=removed',
    );
    const removed = await expectNotice(
      omar,
      'tfa.method_removed',
      'A two-step verification method was removed from your account',
    );
    expect(removed.text).toContain('Text message');

    expect(redirect(await post(browser, '/account/two-factor/disable'))).toBe('303 /account/two-factor?done=disabled');
    const off = await expectNotice(omar, 'tfa.disabled', 'Two-step verification was turned off for your account');
    expect(off.text).toContain('Only your password protects your account now.');
    // No code, seed or phone number is ever in an email.
    const everything = smtp.to('omar@acme.example').map((e) => `${e.subject}\n${e.text}`);
    for (const text of everything) {
      expect(text).not.toContain(code);
      expect(text).not.toContain('4155550123');
      expect(text.replaceAll(' ', '')).not.toContain(seed);
    }
  });

  it('tells of two-step verification set up at a sign-in the organization requires it for', async () => {
    await server.app.services.organizations.createOrganization({ slug: 'strict', name: 'Northwind', enforceTfa: true });
    const pia = await member('pia@northwind.example', 'strict');
    const browser = browserOn(FIREFOX_ON_WINDOWS);
    const start = await open(browser, '/account');
    const login = readForm(await start.response.text(), /\/login$/);
    const loginTarget = new URL(login.action, start.url);
    const enrol = await browser.follow(
      await browser.request(loginTarget, {
        form: { _csrf: login.csrf, email: 'pia@northwind.example', password: pia.password },
      }),
      loginTarget,
    );
    expect(enrol.url.pathname).toMatch(/\/enrol$/);
    const choose = readForm(await enrol.response.text(), /\/enrol\/method\/totp$/);
    const qr = await (
      await browser.request(new URL(choose.action, enrol.url), { form: { _csrf: choose.csrf } })
    ).text();
    pia.secret = secretFromUri(
      `otpauth://x?secret=${/data-testid="manual-key">([A-Z2-7 ]+)</.exec(qr)![1]!.replaceAll(' ', '')}`,
    );
    const confirm = readForm(qr, /\/enrol\/method\/totp\/confirm$/);
    const factorId = /name="factorId" value="([^"]+)"/.exec(qr)![1]!;
    const confirmed = await browser.request(new URL(confirm.action, enrol.url), {
      form: { _csrf: confirm.csrf, factorId, code: nextCode(pia) },
    });
    expect(confirmed.status).toBe(303);
    const email = await expectNotice(pia, 'tfa.enrolled', 'Two-step verification was set up for your account');
    expect(email.text).toContain('Two-step verification was set up with this method: Authenticator app.');
    expect(email.text).toContain('Twofold, for Northwind.');
  });

  it('tells of a changed password, and never includes it', async () => {
    const quinn = await member('quinn@acme.example');
    const browser = browserOn(FIREFOX_ON_WINDOWS);
    await signIn(browser, quinn);
    const changed = await post(browser, '/account/password', {
      current: quinn.password,
      password: 'plum orchard violin 42',
    });
    expect(redirect(changed)).toBe('303 /account/password?done=1');
    const email = await expectNotice(quinn, 'password.changed', 'Your password was changed');
    expect(email.text).not.toContain('plum orchard violin 42');
    expect(email.text).not.toContain(quinn.password);
  });

  it('tells of a new app password by name, and never includes the password', async () => {
    const rosa = await member('rosa@acme.example');
    await withFactors(rosa);
    const browser = browserOn(FIREFOX_ON_WINDOWS);
    await signIn(browser, rosa);
    const made = await post(browser, '/account/app-passwords', {
      name: 'Thunderbird',
      scopes: 'imap',
      expires: 'never',
    });
    expect(redirect(made)).toBe('303 /account/app-passwords/new');
    const password = /data-testid="app-password"[^>]*>([^<]+)</.exec(
      await page(browser, '/account/app-passwords/new'),
    )![1]!;
    const email = await expectNotice(rosa, 'app_password.created', 'A new app password was created for your account');
    expect(email.text).toContain('An app password named "Thunderbird" was created');
    expect(email.text).toContain('(imap)');
    expect(email.text).toContain(`${server.issuer}/account/app-passwords`);
    expect(email.text).not.toContain(password);
    expect(email.text).not.toContain(password.replaceAll(' ', ''));
    // Exactly one email: the app-password domain no longer sends one of its own.
    await server.app.services.notices.settled();
    expect(smtp.to('rosa@acme.example').filter((e) => e.subject === email.subject)).toHaveLength(1);
  });
});
