import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { Browser, createAccountDriver, type Member } from '../helpers/account-driver.ts';
import { createTestClock } from '../helpers/clock.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { readOutboxEmails } from '../helpers/totp.ts';

/**
 * My Account → App passwords: made for one mail or calendar app each, shown once, listed with
 * their last use, revoked one by one or all at once, every change behind a fresh sign-in. The
 * clock starts an hour back so that oidc-provider agrees a sign-in is stale (see account.test.ts).
 */
describe('app passwords on the account pages', () => {
  const clock = createTestClock(Date.now() - 3_600_000);
  let server: TestServer;
  let secret: string;
  const { page, member, redirect, withFactors, signIn, post, csrfOf } = createAccountDriver({
    server: () => server,
    clock,
  });
  let ada: Member;
  const browser = new Browser();

  const grant = (username: string, password: string, scope?: string) =>
    fetch(`${server.issuer}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'password',
        username,
        password,
        client_id: 'dovecot',
        client_secret: secret,
        ...(scope ? { scope } : {}),
      }),
    });
  const shownPassword = (html: string) => /data-testid="app-password" id="app-password">([a-z2-9 ]+)</.exec(html)?.[1];

  beforeAll(async () => {
    server = await startTestServer('sqlite', {
      clock,
      overrides: { legacy: { accessTokenTtl: 300, useFlushSeconds: 1 } },
    });
    secret = (
      await server.app.services.clients.registerClient({
        clientId: 'dovecot',
        grants: ['password'],
        authMethod: 'client_secret_post',
        introspection: true,
      })
    ).secret!;
    ada = await member('ada@example.com');
    await withFactors(ada);
    await signIn(browser, ada);
  });
  afterAll(async () => server?.close());

  it('makes one, shows it once grouped for reading, and the mail server can use it', async () => {
    expect(await page(browser, '/account/app-passwords')).toContain('Make an app password');
    const made = await post(browser, '/account/app-passwords', {
      name: 'Thunderbird on laptop',
      scopes: 'imap',
      expires: 'never',
    });
    expect(redirect(made)).toBe('303 /account/app-passwords/new');
    const html = await page(browser, '/account/app-passwords/new');
    const password = shownPassword(html)!;
    expect(password).toMatch(/^([a-z2-9]{4} ){4}[a-z2-9]{4}$/);
    expect(html).toContain('ada@example.com');
    expect(shownPassword(await page(browser, '/account/app-passwords/new'))).toBeUndefined();
    expect((await grant('ada@example.com', password)).status).toBe(200);
    expect((await grant('ada@example.com', password, 'smtp')).status).toBe(400);
    // The person is told by email, without the password.
    await server.app.services.notices.settled();
    const email = readOutboxEmails(server.environment.config.dataDir).findLast((m) => m.text.includes('app password'))!;
    expect(email.to).toBe('ada@example.com');
    expect(email.text).toContain('Thunderbird on laptop');
    expect(email.text).not.toContain(password);
    expect(email.text.replaceAll(' ', '')).not.toContain(password.replaceAll(' ', ''));
  });

  it('lists each one with what it may do and when it was last used (written in batches, off the grant)', async () => {
    const listed = () => page(browser, '/account/app-passwords');
    expect(await listed()).toMatch(/<strong>Thunderbird on laptop<\/strong>[^]*Reading mail \(IMAP\)/);
    // The use recorder flushes every second here; wait for it, boundedly.
    for (let i = 0; i < 30 && !/Last used/.test(await listed()); i++) await new Promise((r) => setTimeout(r, 100));
    expect(await listed()).toMatch(/Last used <time[^>]*>[^<]+<\/time> from [0-9a-f.:]+ \(dovecot\)/);
  });

  it('refuses a nameless or protocol-less app password with the reason next to the field', async () => {
    const nameless = await post(browser, '/account/app-passwords', { name: '', scopes: 'imap' });
    expect(nameless.status).toBe(400);
    expect(await nameless.text()).toMatch(/id="name-error" role="alert">Give it a name/);
    const pointless = await post(browser, '/account/app-passwords', { name: 'Nothing' });
    expect(pointless.status).toBe(400);
    expect(await pointless.text()).toContain('Choose at least one kind of app.');
    const unknown = await post(browser, '/account/app-passwords', { name: 'Odd', scopes: 'telnet' });
    expect(unknown.status).toBe(400);
  });

  it('revokes one (its tokens stop at once) and then all, each behind a fresh sign-in', async () => {
    // Two ticked boxes arrive as a repeated field.
    const target = new URL('/account/app-passwords', server.issuer);
    const first = await fetch(target, {
      method: 'POST',
      redirect: 'manual',
      headers: {
        cookie: browser.cookieHeader(target),
        'content-type': 'application/x-www-form-urlencoded',
        'user-agent': browser.userAgent,
      },
      body: `_csrf=${await csrfOf(browser)}&name=Phone+mail&scopes=imap&scopes=smtp&expires=30`,
    });
    expect(redirect(first)).toBe('303 /account/app-passwords/new');
    const password = shownPassword(await page(browser, '/account/app-passwords/new'))!;
    const token = ((await (await grant('ada@example.com', password)).json()) as { access_token: string }).access_token;
    const list = await page(browser, '/account/app-passwords');
    expect(list).toMatch(/<strong>Phone mail<\/strong>[^]*Reading mail \(IMAP\), Sending mail \(SMTP\)[^]*expires/);
    const id = [
      ...list.matchAll(
        /name="id" value="([^"]+)"><button type="submit" class="link danger" aria-label="Revoke Phone mail"/g,
      ),
    ][0]![1]!;
    expect(redirect(await post(browser, '/account/app-passwords/revoke', { id }))).toBe(
      '303 /account/app-passwords?done=revoked',
    );
    const introspected = await fetch(`${server.issuer}/token/introspection`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token, client_id: 'dovecot', client_secret: secret }),
    });
    expect(await introspected.json()).toEqual({ active: false });
    expect((await grant('ada@example.com', password)).status).toBe(400);
    // Someone else's or a made-up id changes nothing.
    expect((await post(browser, '/account/app-passwords/revoke', { id: 'not-mine' })).status).toBe(404);

    clock.advance(301_000);
    const stale = await post(browser, '/account/app-passwords/revoke-all');
    expect(stale.status).toBe(303);
    expect(stale.headers.get('location')).toMatch(/^\/account\/login\?fresh=1&resume=/);
    expect(await page(browser, '/account/app-passwords')).toContain('Thunderbird on laptop');
  });
});
