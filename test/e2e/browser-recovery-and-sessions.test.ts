import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser, BrowserContextOptions, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { audit } from '../helpers/axe.ts';
import { browserSkipReason, launchChromium, screenshot } from '../helpers/browser.ts';
import { USER_AGENTS } from '../helpers/account-driver.ts';
import { factorDriver } from '../helpers/factors.ts';
import { authorizationRequest, discoverRp, exchange, type RelyingParty } from '../helpers/rp.ts';
import { enrolTotp, seedClient, seedUser, type Seeded } from '../helpers/seed.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

const skip = browserSkipReason() !== null;
const DESKTOP: BrowserContextOptions = { viewport: { width: 1280, height: 900 } };
const PHONE: BrowserContextOptions = { viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true };

function startCallbackServer(): Promise<Server> {
  return new Promise((resolve) => {
    const server = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end('<!doctype html><title>Example App</title><h1>Signed in</h1>');
    });
    server.listen(0, '127.0.0.1', () => resolve(server));
  });
}

/** Issue 8, screens: the page after a recovery code, and sessions people can recognise, in real Chromium. */
describe.skipIf(skip)('recovery-code notice and sessions in real Chromium', () => {
  let server: TestServer;
  let callback: Server;
  let browser: Browser;
  let rp: RelyingParty;

  beforeAll(async () => {
    [server, callback, browser] = await Promise.all([
      startTestServer('sqlite'),
      startCallbackServer(),
      launchChromium(),
    ]);
    const redirectUri = `http://127.0.0.1:${(callback.address() as AddressInfo).port}/callback`;
    rp = await discoverRp(server.issuer, await seedClient(server.app, { redirectUri, firstParty: true }));
  });
  afterAll(async () => {
    await browser?.close();
    callback?.close();
    await server?.close();
  });

  const person = (s: Seeded) => ({ orgId: s.org.id, userId: s.user.id, email: s.user.email });

  async function signInWithRecoveryCode(page: Page, seeded: Seeded, code: string) {
    const request = await authorizationRequest(rp);
    await page.goto(request.url.href);
    await page.getByLabel('Email').fill(seeded.user.email);
    await page.getByLabel('Password').fill(seeded.password);
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.getByText('Use another method').click();
    await page.getByRole('link', { name: /recovery code/i }).click();
    await page.getByLabel('Recovery code').fill(code);
    await page.getByRole('button', { name: 'Verify' }).click();
    await page.getByRole('heading', { name: 'You used a recovery code' }).waitFor();
    return request;
  }

  async function continueToApp(page: Page, request: Awaited<ReturnType<typeof authorizationRequest>>) {
    await page.getByRole('link', { name: 'Continue' }).click();
    // A loopback callback makes this a native client: oidc-provider may ask for consent (RFC 8252 §8.6).
    const allow = page.getByRole('button', { name: 'Allow' });
    await Promise.race([page.waitForURL((url) => url.pathname === '/callback'), allow.waitFor()]);
    if (new URL(page.url()).pathname !== '/callback') await allow.click();
    await page.waitForURL((url) => url.pathname === '/callback');
    return (await exchange(rp, new URL(page.url()), request)).claims()!;
  }

  it('after a recovery code, says how many are left, offers new ones, and goes on to the app', async () => {
    const seeded = await seedUser(server.app, { email: 'recovery-notice@acme.example' });
    await enrolTotp(server.app, seeded, Date.now());
    const codes = await server.app.factors.recovery.regenerate(person(seeded));

    const desktop = await browser.newContext(DESKTOP);
    const page = await desktop.newPage();
    page.setDefaultTimeout(8000);
    const request = await signInWithRecoveryCode(page, seeded, codes[0]!);
    expect(await page.getByRole('status').innerText()).toContain('You have 9 recovery codes left.');
    expect(await page.getByRole('link', { name: 'Make new recovery codes' }).getAttribute('href')).toBe(
      '/account/two-factor#recovery-codes',
    );
    expect(await audit(page)).toEqual([]);
    await screenshot(page, 'recovery-code-used');
    expect((await continueToApp(page, request)).amr).toEqual(['pwd', 'otp', 'mfa']);
    await desktop.close();

    for (const code of codes.slice(1, 8)) await factorDriver(server.app).verifyRecoveryCode(person(seeded), code);
    const phone = await browser.newContext(PHONE);
    const small = await phone.newPage();
    small.setDefaultTimeout(8000);
    await signInWithRecoveryCode(small, seeded, codes[8]!);
    expect(await small.getByRole('alert').innerText()).toContain('You have only 1 recovery code left.');
    expect(await small.evaluate('document.documentElement.scrollWidth <= window.innerWidth')).toBe(true);
    expect(await audit(small)).toEqual([]);
    await screenshot(small, 'recovery-code-used-few-phone');
    await phone.close();
  });

  async function signInToAccount(page: Page, seeded: Seeded) {
    await page.goto(`${server.issuer}/account/sessions`);
    await page.getByLabel('Email').fill(seeded.user.email);
    await page.getByLabel('Password').fill(seeded.password);
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.waitForURL((url) => url.pathname.startsWith('/account'));
  }

  it.each([
    ['desktop', DESKTOP, 'account-sessions-local'],
    ['phone', PHONE, 'account-sessions-local-phone'],
  ])('shows sessions on %s with named buttons and times in the browser’s time zone', async (_name, size, shot) => {
    const seeded = await seedUser(server.app, { email: `sessions-${shot}@acme.example` });
    const windows = await browser.newContext({ ...DESKTOP, userAgent: USER_AGENTS.chromeOnWindows });
    await signInToAccount(await windows.newPage(), seeded);
    const here = await browser.newContext({ ...size, timezoneId: 'Asia/Tokyo', locale: 'en-GB' });
    const page = await here.newPage();
    page.setDefaultTimeout(8000);
    await signInToAccount(page, seeded);
    await page.goto(`${server.issuer}/account/sessions`);
    await page.getByRole('heading', { name: 'Where you are signed in' }).waitFor();

    expect(await page.getByText('This browser').count()).toBe(1);
    await page.getByRole('button', { name: 'Sign out Chrome 128 on Windows 10' }).waitFor();
    const times = page.locator('time.local');
    expect(await times.count()).toBe(4);
    // The page's script made each time local: Tokyo is UTC+9, and the UTC text is kept as the title.
    expect(await times.first().innerText()).toMatch(/GMT\+9|JST/);
    expect(await times.first().getAttribute('title')).toMatch(/ UTC$/);
    expect(await page.evaluate('document.documentElement.scrollWidth <= window.innerWidth')).toBe(true);
    expect(await audit(page)).toEqual([]);
    await screenshot(page, shot);
    await Promise.all([windows.close(), here.close()]);
  });
});
