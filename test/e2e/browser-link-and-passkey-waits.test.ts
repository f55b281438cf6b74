import type { BrowserContext, Page } from 'playwright-core';
import { beforeAll, describe, expect, it } from 'vitest';

import { audit } from '../helpers/axe.ts';
import { addVirtualPasskey, browserSkipReason, screenshot, useServerAndBrowser } from '../helpers/browser.ts';
import { createTestClock } from '../helpers/clock.ts';
import { authorizationRequest, discoverRp, type RelyingParty } from '../helpers/rp.ts';
import { seedClient } from '../helpers/seed.ts';

const skip = browserSkipReason() !== null;
const DESKTOP = { viewport: { width: 1280, height: 900 } };

/**
 * Issue 8, screens: the waits of a passkey sign-in and of "email me a link" read like every other
 * throttle wait ("… wait N seconds, then …", one second singular) and count down in the page.
 */
describe.skipIf(skip)('link and passkey waits in real Chromium', () => {
  const clock = createTestClock(Date.now() - 3_600_000);
  const suite = useServerAndBrowser('sqlite', { clock });
  let rp: RelyingParty;

  beforeAll(async () => {
    rp = await discoverRp(suite.server.issuer, await seedClient(suite.server.app, { firstParty: true }));
  });

  /** A page whose timers the test can move (Playwright's clock). */
  async function clockedPage(context: BrowserContext): Promise<Page> {
    const page = await context.newPage();
    page.setDefaultTimeout(10_000);
    await page.clock.install();
    return page;
  }

  /** Stops the page's time where it is, so that a countdown waits for the test. */
  async function holdTime(page: Page) {
    await page.clock.pauseAt((await page.evaluate<number>('Date.now()')) + 50);
  }

  /** Desktop and phone widths of the same page (axe runs once time flows again: it needs timers). */
  async function shoot(page: Page, name: string) {
    await screenshot(page, `${name}-desktop`);
    await page.setViewportSize({ width: 390, height: 844 });
    expect(await page.evaluate('document.documentElement.scrollWidth <= window.innerWidth')).toBe(true);
    await screenshot(page, `${name}-phone`);
    await page.setViewportSize(DESKTOP.viewport);
  }

  it(
    '"Email me a link" too often says no link was sent, how long to wait, and counts it down',
    { timeout: 90_000 },
    async () => {
      const page = await clockedPage(await suite.browser.newContext(DESKTOP));
      const ask = async () => {
        await page.goto(`${suite.server.issuer}/forgot-password`);
        await page.getByLabel('Email').fill('someone@acme.example');
        await page.getByRole('button', { name: 'Email me a link' }).click();
      };
      for (let i = 0; i < 3; i += 1) {
        await ask();
        await page.getByRole('heading', { name: 'Check your email' }).waitFor();
      }
      await ask();
      await page
        .getByRole('alert')
        .getByText('Too many requests for a link. No link was sent: wait 1 second, then ask again.')
        .waitFor();
      await holdTime(page);
      expect(await page.getByRole('timer').textContent()).toBe('You can ask for a link again in 1 second.');
      expect(await page.getByLabel('Email').inputValue()).toBe('someone@acme.example');
      await shoot(page, 'reset-forgot-wait');
      await page.clock.runFor(1_000);
      await page.getByRole('status').getByText('You can ask for a link now.').waitFor();
      await page.clock.resume();
      expect(await audit(page)).toEqual([]);
      clock.advance(1_000);
      await page.getByRole('button', { name: 'Email me a link' }).click();
      await page.getByRole('heading', { name: 'Check your email' }).waitFor();
    },
  );

  it(
    'a passkey tried during a throttle wait says it was not checked, with the wait counted down',
    { timeout: 90_000 },
    async () => {
      const context = await suite.browser.newContext(DESKTOP);
      const page = await clockedPage(context);
      await addVirtualPasskey(context, page);
      await page.goto((await authorizationRequest(rp)).url.href);
      // A passkey this server never registered: each try with it fails.
      await page.evaluate(`navigator.credentials.create({ publicKey: {
      rp: { id: 'localhost', name: 'Elsewhere' },
      user: { id: new Uint8Array(16), name: 'stranger', displayName: 'Stranger' },
      challenge: new Uint8Array(32),
      pubKeyCredParams: [{ type: 'public-key', alg: -7 }],
      authenticatorSelection: { residentKey: 'required', userVerification: 'required' },
    } })`);
      const start = page.getByRole('button', { name: 'Sign in with a passkey' });
      const message = page.locator('[data-webauthn-error]');
      // Five free failures, then two more after their delays: the next try must wait 2^2 = 4 seconds.
      for (let i = 0; i < 7; i += 1) {
        clock.advance(20_000);
        await start.click();
        // Issue 8: no "your account" before anyone is known.
        await message
          .filter({ hasText: 'This passkey is not registered here. Sign in with your email and password.' })
          .waitFor();
        await page.evaluate(`document.querySelector('[data-webauthn-error]').hidden = true`);
      }
      const answered = page.waitForResponse(
        (r) => r.request().method() === 'POST' && /passwordless\/webauthn$/.test(r.url()),
      );
      await start.click();
      const refused = await answered;
      expect([refused.status(), refused.headers()['retry-after']]).toEqual([429, '4']);
      expect(await refused.json()).toEqual({
        error: 'throttled',
        error_description: 'Too many failed attempts. Your passkey was not checked: wait 4 seconds, then try again.',
      });
      await message.filter({ hasText: 'Your passkey was not checked: wait 4 seconds, then try again.' }).waitFor();
      await holdTime(page);
      const countdown = page.getByRole('timer');
      expect(await countdown.textContent()).toBe('You can use your passkey again in 4 seconds.');
      await page.clock.runFor(3_000);
      expect(await countdown.textContent()).toBe('You can use your passkey again in 1 second.');
      await shoot(page, 'login-passkey-wait');
      await page.clock.runFor(1_000);
      await page.getByRole('status').getByText('You can use your passkey now.').waitFor();
      await page.clock.resume();
      expect(await audit(page)).toEqual([]);
      await context.close();
    },
  );
});
