import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { browserSkipReason, launchChromium, screenshot } from '../helpers/browser.ts';
import { authorizationRequest, discoverRp, type RelyingParty } from '../helpers/rp.ts';
import { seedClient, seedUser, type Seeded } from '../helpers/seed.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

const skip = browserSkipReason() !== null;

/** A relying party's callback page, so the browser lands somewhere real. */
function startCallbackServer(): Promise<Server> {
  return new Promise((resolve) => {
    const server = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end('<!doctype html><title>Example App</title><h1>Signed in to Example App</h1>');
    });
    server.listen(0, '127.0.0.1', () => resolve(server));
  });
}

describe.skipIf(skip)('signing in with real Chromium', () => {
  let server: TestServer;
  let callback: Server;
  let browser: Browser;
  let seeded: Seeded;
  let rp: RelyingParty;

  beforeAll(async () => {
    [server, callback, browser] = await Promise.all([
      startTestServer('sqlite'),
      startCallbackServer(),
      launchChromium(),
    ]);
    const redirectUri = `http://127.0.0.1:${(callback.address() as AddressInfo).port}/callback`;
    seeded = await seedUser(server.app);
    rp = await discoverRp(server.issuer, await seedClient(server.app, { redirectUri }));
  });
  afterAll(async () => {
    await browser?.close();
    callback?.close();
    await server?.close();
  });

  it('signs in through the pages and lands on the client with a code', async () => {
    const context = await browser.newContext({ viewport: { width: 1100, height: 800 } });
    const page = await context.newPage();
    const request = await authorizationRequest(rp);
    await page.goto(request.url.href);
    await expect(page.getByRole('heading', { name: 'Sign in' }).isVisible()).resolves.toBe(true);
    await screenshot(page, 'login');

    await page.getByLabel('Email').fill('alice@example.com');
    await page.getByLabel('Password').fill('a wrong password for sure');
    await page.getByRole('button', { name: 'Continue' }).click();
    await expect(page.getByRole('alert').textContent()).resolves.toContain('The email or password is incorrect.');
    await screenshot(page, 'login-error');

    await page.getByLabel('Password').fill(seeded.password);
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.getByRole('heading', { name: 'Allow access?' }).waitFor();
    await screenshot(page, 'consent');

    await page.getByRole('button', { name: 'Allow' }).click();
    await page.waitForURL((url) => url.pathname === '/callback');
    const landed = new URL(page.url());
    expect(landed.searchParams.get('code')).toMatch(/^[A-Za-z0-9_-]{20,}$/);
    expect(landed.searchParams.get('state')).toBe(request.state);
    expect(landed.searchParams.get('iss')).toBe(server.issuer);
    await context.close();
  });

  it('renders the pages readably on a phone', async () => {
    const context = await browser.newContext({
      viewport: { width: 375, height: 720 },
      deviceScaleFactor: 2,
      isMobile: true,
    });
    const page = await context.newPage();
    page.setDefaultTimeout(10_000);
    // A fresh deployment, so that its setup link is live.
    const fresh = await startTestServer('sqlite');
    await page.goto(fresh.setupLink!);
    await screenshot(page, 'setup-phone');
    await page.getByLabel('Organization name').fill('Acme Corp');
    await page.getByLabel('Short name').fill('Acme!');
    await page.getByLabel('Your email').fill('ada@acme.example');
    await page.getByLabel('Choose a password').fill('short');
    await page.getByRole('button', { name: 'Create organization' }).click();
    await page.getByText('Use lowercase letters, digits and hyphens').waitFor();
    await screenshot(page, 'setup-errors-phone');
    // Nothing overflows sideways on a narrow screen.
    expect(await page.evaluate('document.documentElement.scrollWidth <= window.innerWidth')).toBe(true);
    await page.getByLabel('Short name').fill('acme');
    await page.getByLabel('Your name').fill('Ada Admin');
    await page.getByLabel('Choose a password').fill('violet tractor harbour lemon');
    await page.getByRole('button', { name: 'Create organization' }).click();
    await page.getByRole('heading', { name: 'Twofold is ready' }).waitFor();
    await screenshot(page, 'setup-done-phone');
    await fresh.close();

    await page.goto(`${server.issuer}/interaction/not-a-real-interaction`);
    await screenshot(page, 'error-phone');
    const request = await authorizationRequest(rp);
    await page.goto(request.url.href);
    await screenshot(page, 'login-phone');
    await context.close();
  });
});
