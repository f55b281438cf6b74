import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { addVirtualPasskey, browserSkipReason, screenshot, useServerAndBrowser } from '../helpers/browser.ts';
import { authorizationRequest, discoverRp, exchange, type RelyingParty } from '../helpers/rp.ts';
import { seedClient, seedUser } from '../helpers/seed.ts';

const skip = browserSkipReason() !== null;

/**
 * Issue 9: a passkey proves the person on its own, so it must be refused while an administrator
 * has disabled them (saying why: the passkey proved who they are), and work again once enabled.
 */
describe.skipIf(skip)("a disabled person's passkey, in real Chromium", () => {
  const suite = useServerAndBrowser('sqlite');
  let rp: RelyingParty;
  /** The client's callback on a loopback port (a native app, RFC 8252 §7.3). */
  let callback: Server;

  beforeAll(async () => {
    callback = createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end('Signed in'));
    await new Promise<void>((resolve) => callback.listen(0, '127.0.0.1', resolve));
    const redirectUri = `http://127.0.0.1:${(callback.address() as AddressInfo).port}/callback`;
    rp = await discoverRp(suite.server.issuer, await seedClient(suite.server.app, { redirectUri, firstParty: true }));
  });
  afterAll(async () => {
    callback?.close();
  });

  /** The code at the client's callback, exchanged: its claims. */
  async function landedClaims(page: Page, request: Awaited<ReturnType<typeof authorizationRequest>>) {
    await page.waitForURL((url) => url.pathname === '/callback');
    return (await exchange(rp, new URL(page.url()), request)).claims()!;
  }

  it('refuses the passkey with the reason while disabled, and signs in with it once enabled', async () => {
    const seeded = await seedUser(suite.server.app, { slug: 'strict', email: 'ada@strict.example', enforceTfa: true });
    const person = { orgId: seeded.org.id, userId: seeded.user.id, email: seeded.user.email };
    const context = await suite.browser.newContext({ viewport: { width: 1000, height: 900 } });
    const page = await context.newPage();
    page.setDefaultTimeout(10_000);
    await addVirtualPasskey(context, page);

    const enrol = await authorizationRequest(rp);
    await page.goto(enrol.url.href);
    await page.getByLabel('Email').fill(seeded.user.email);
    await page.getByLabel('Password').fill(seeded.password);
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.getByLabel('Name for this key').fill('Virtual key');
    await page.getByLabel('Also sign in with it without a password (passkey)').check();
    await page.getByRole('button', { name: 'Add a security key or passkey' }).click();
    await page.getByRole('button', { name: 'I have saved my codes, continue' }).click();
    expect((await landedClaims(page, enrol)).amr).toContain('hwk');

    await suite.server.app.services.personStatus.disable(seeded.org, person, { actor: 'cli' });
    await context.clearCookies();
    const refused = await authorizationRequest(rp);
    await page.goto(refused.url.href);
    await page.getByRole('button', { name: 'Sign in with a passkey' }).click();
    await page.getByText('This account is disabled. Contact your administrator.').waitFor();
    expect(new URL(page.url()).pathname).toMatch(/^\/interaction\//);
    await screenshot(page, 'login-passkey-disabled');

    await suite.server.app.services.personStatus.enable(seeded.org, person, { actor: 'cli' });
    const again = await authorizationRequest(rp);
    await page.goto(again.url.href);
    await page.getByRole('button', { name: 'Sign in with a passkey' }).click();
    expect((await landedClaims(page, again)).amr).toEqual(['hwk', 'user', 'mfa']);
    await context.close();
  });
});
