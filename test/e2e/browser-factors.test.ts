import { factorDriver } from '../helpers/factors.ts';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as jsqrModule from 'jsqr';
import type { Browser, Page } from 'playwright-core';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { ACR_MFA } from '../../src/domain/authentication.ts';
import { addVirtualPasskey, browserSkipReason, launchChromium, screenshot } from '../helpers/browser.ts';
import { authorizationRequest, discoverRp, exchange, type RelyingParty } from '../helpers/rp.ts';
import { enrolTotp, seedClient, seedUser } from '../helpers/seed.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { secretFromUri, totpAt } from '../helpers/totp.ts';

const skip = browserSkipReason() !== null;
// jsqr is a CommonJS bundle whose module.exports is the decoder; ESM sees it as the default export.
const jsQR = (
  jsqrModule as unknown as {
    default: (data: Uint8ClampedArray, width: number, height: number) => { data: string } | null;
  }
).default;

function startCallbackServer(): Promise<Server> {
  return new Promise((resolve) => {
    const server = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end('<!doctype html><title>Example App</title><h1>Signed in</h1>');
    });
    server.listen(0, '127.0.0.1', () => resolve(server));
  });
}

/** Reads the QR code the page shows, as a phone camera would: from pixels, not from the markup. */
async function decodeQr(page: Page): Promise<string> {
  const png = PNG.sync.read(await page.locator('.qr').screenshot());
  const found = jsQR(new Uint8ClampedArray(png.data), png.width, png.height);
  if (!found) throw new Error('no QR code could be read from the page');
  return found.data;
}

describe.skipIf(skip)('second factors in real Chromium', () => {
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

  async function signInWithPassword(page: Page, email: string, password: string, extra: Record<string, string> = {}) {
    const request = await authorizationRequest(rp, extra);
    await page.goto(request.url.href);
    await page.getByLabel('Email').fill(email);
    await page.getByLabel('Password').fill(password);
    await page.getByRole('button', { name: 'Continue' }).click();
    return request;
  }

  async function landedClaims(page: Page, request: Awaited<ReturnType<typeof authorizationRequest>>) {
    // The callback is a loopback address, which makes this a native client: oidc-provider asks
    // native clients for consent every time (RFC 8252 §8.6, a public redirect can be claimed by anyone).
    const allow = page.getByRole('button', { name: 'Allow' });
    await Promise.race([page.waitForURL((url) => url.pathname === '/callback'), allow.waitFor()]);
    if (new URL(page.url()).pathname !== '/callback') {
      await page.getByRole('button', { name: 'Allow' }).click();
      await page.waitForURL((url) => url.pathname === '/callback');
    }
    return (await exchange(rp, new URL(page.url()), request)).claims()!;
  }

  it('enrols an authenticator app by scanning the QR code on the page, then signs in with its code', async () => {
    const seeded = await seedUser(server.app, { slug: 'strict', email: 'qr@strict.example', enforceTfa: true });
    const context = await browser.newContext({ viewport: { width: 1000, height: 900 } });
    const page = await context.newPage();
    page.setDefaultTimeout(8000);
    const request = await signInWithPassword(page, seeded.user.email, seeded.password);
    await page.getByRole('heading', { name: 'Set up two-step verification' }).waitFor();
    await screenshot(page, 'enrol-choose');

    await page.getByRole('button', { name: 'Set up an authenticator app' }).click();
    await page.getByRole('heading', { name: 'Set up your authenticator app' }).waitFor();
    await screenshot(page, 'enrol-totp');
    const uri = await decodeQr(page);
    expect(uri).toMatch(/^otpauth:\/\/totp\/Acme%20Corp:qr%40strict\.example\?/);
    expect(new URL(uri).searchParams.get('issuer')).toBe('Acme Corp');
    const secret = secretFromUri(uri);
    expect(secret.length).toBeGreaterThanOrEqual(20);
    // Issue 8: the key for typing in by hand has a copy button; what it copies is the QR code's secret.
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: server.issuer });
    await page.getByText("Can't scan it? Enter this key instead").click();
    await page.locator('.manual-key').getByRole('button', { name: 'Copy' }).click();
    await page.locator('.manual-key').getByRole('button', { name: 'Copied' }).waitFor();
    const copied = String(await page.evaluate('navigator.clipboard.readText()'));
    expect(copied.replaceAll(' ', '')).toBe(new URL(uri).searchParams.get('secret'));

    await page.getByLabel('Enter the 6-digit code the app shows').fill(totpAt(secret, Date.now() / 1000));
    await page.getByRole('button', { name: 'Confirm and continue' }).click();
    await page.getByRole('heading', { name: 'Save your recovery codes' }).waitFor();
    expect(await page.locator('.codes li').count()).toBe(10);
    await screenshot(page, 'recovery-codes');
    await page.getByRole('button', { name: 'I have saved my codes, continue' }).click();
    const claims = await landedClaims(page, request);
    expect(claims.amr).toEqual(['pwd', 'otp', 'mfa']);
    await context.close();
  });

  it('registers a security key as a passkey, signs in with it alone, and uses it as a second factor', async () => {
    const seeded = await seedUser(server.app, { slug: 'strict', email: 'key@strict.example', enforceTfa: true });
    const context = await browser.newContext();
    const page = await context.newPage();
    page.setDefaultTimeout(8000);
    await addVirtualPasskey(context, page);

    const enrolRequest = await signInWithPassword(page, seeded.user.email, seeded.password);
    await page.getByLabel('Name for this key').fill('Virtual key');
    await page.getByLabel('Also sign in with it without a password (passkey)').check();
    await page.getByRole('button', { name: 'Add a security key or passkey' }).click();
    await page.getByRole('heading', { name: 'Save your recovery codes' }).waitFor();
    await page.getByRole('button', { name: 'I have saved my codes, continue' }).click();
    expect((await landedClaims(page, enrolRequest)).amr).toEqual(['pwd', 'hwk', 'mfa']);
    const [key] = await server.app.factors.store.findFactors(seeded.org.id, seeded.user.id);
    expect(key).toMatchObject({ kind: 'webauthn', label: 'Virtual key', passkey: true, active: true });

    // Passkey sign-in: no password; a user-verified passkey is two factors on its own.
    await context.clearCookies();
    const passkeyRequest = await authorizationRequest(rp);
    await page.goto(passkeyRequest.url.href);
    await screenshot(page, 'login-with-passkey-option');
    await page.getByRole('button', { name: 'Sign in with a passkey' }).click();
    const passkeyClaims = await landedClaims(page, passkeyRequest);
    expect(passkeyClaims.sub).toBe(seeded.user.id);
    expect(passkeyClaims.amr).toEqual(['hwk', 'user', 'mfa']);
    expect(passkeyClaims.acr).toBe(ACR_MFA);

    // The same key as the second factor after the password.
    await context.clearCookies();
    const secondRequest = await signInWithPassword(page, seeded.user.email, seeded.password);
    await page.getByRole('heading', { name: 'Two-step verification' }).waitFor();
    await screenshot(page, 'verify-security-key');
    await page.getByRole('button', { name: 'Use security key or passkey' }).click();
    expect((await landedClaims(page, secondRequest)).amr).toEqual(['pwd', 'hwk', 'mfa']);
    await context.close();
  });

  it('shows the code step and the other methods readably on a phone', async () => {
    const seeded = await seedUser(server.app, { slug: 'acme', email: 'phone-view@acme.example' });
    const person = { orgId: seeded.org.id, userId: seeded.user.id, email: seeded.user.email };
    await enrolTotp(server.app, seeded, Date.now());
    await factorDriver(server.app).beginPhone(person, 'sms', '+442079460123', 'Work phone', 'x', '127.0.0.1');
    await server.app.factors.recovery.regenerate(person);
    const context = await browser.newContext({
      viewport: { width: 375, height: 740 },
      deviceScaleFactor: 2,
      isMobile: true,
    });
    const page = await context.newPage();
    page.setDefaultTimeout(8000);
    await signInWithPassword(page, seeded.user.email, seeded.password);
    await page.getByRole('heading', { name: 'Two-step verification' }).waitFor();
    await page.getByText('Use another method').click();
    await screenshot(page, 'verify-totp-phone');
    expect(await page.evaluate('document.documentElement.scrollWidth <= window.innerWidth')).toBe(true);
    await page.getByRole('link', { name: /recovery code/i }).click();
    await page.getByLabel('Recovery code').fill('not-a-code');
    await page.getByRole('button', { name: 'Verify' }).click();
    await page.getByRole('alert').waitFor();
    await screenshot(page, 'verify-recovery-error-phone');
    await context.close();
  });
});
