import type { Page } from 'playwright-core';
import { beforeAll, describe, expect, it } from 'vitest';

import { browserSkipReason, screenshot, useServerAndBrowser } from '../helpers/browser.ts';
import { enrolTotp, seedUser, type Seeded } from '../helpers/seed.ts';
import { createTestClock } from '../helpers/clock.ts';
import { totpAt } from '../helpers/totp.ts';

const skip = browserSkipReason() !== null;

/** The step-up round trip on the security pages, in real Chromium (resume.js finishes the change). */
describe.skipIf(skip)('account pages in real Chromium', () => {
  const clock = createTestClock(Date.now() - 1_200_000);
  const suite = useServerAndBrowser('sqlite', { clock });
  let seeded: Seeded;
  let secret: Buffer;

  beforeAll(async () => {
    seeded = await seedUser(suite.server.app, { email: 'grace@example.com', name: 'Grace Hopper' });
    ({ secret } = await enrolTotp(suite.server.app, seeded, clock.now(), 'Pixel phone', { recoveryCodes: true }));
    clock.advance(30_000);
  });

  async function signIn(page: Page) {
    await page.getByLabel('Password').fill(seeded.password);
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.getByLabel('6-digit code from your authenticator app').fill(totpAt(secret, clock.now() / 1000));
    await page.getByRole('button', { name: 'Verify' }).click();
  }

  it('re-authenticates a stale change with the second factor and completes it on return', async () => {
    const context = await suite.browser.newContext({ viewport: { width: 1100, height: 900 } });
    const page = await context.newPage();
    page.setDefaultTimeout(10_000);
    await page.goto(`${suite.server.issuer}/account`);
    await page.getByLabel('Email').fill(seeded.user.email);
    await signIn(page);
    await page.getByRole('heading', { name: 'Security of your account' }).waitFor();
    await screenshot(page, 'account-overview');

    await page.getByRole('link', { name: 'Two-step verification', exact: true }).click();
    await page.waitForURL((url) => url.pathname === '/account/two-factor');
    await screenshot(page, 'account-two-factor');

    // Five minutes pass: the next change needs a fresh sign-in (max_age=300).
    clock.advance(301_000);
    // Issue 8: making new codes asks first (a <details> with the button that does it).
    await page.getByText('Make new recovery codes', { exact: true }).click();
    await page.getByRole('button', { name: 'Make new recovery codes' }).click();
    // The re-authentication page says why and shows the account as text: no email to type again.
    await page.getByRole('heading', { name: "Confirm it's you" }).waitFor();
    expect(await page.getByText(seeded.user.email).count()).toBeGreaterThan(0);
    expect(await page.getByLabel('Email').count()).toBe(0);
    await screenshot(page, 'account-step-up-login');
    clock.advance(30_000);
    await signIn(page);
    // Back on our pages, the change completes by itself: the new codes are shown.
    await page.getByRole('heading', { name: 'Save your recovery codes' }).waitFor();
    expect(await page.locator('.codes li').count()).toBe(10);
    await screenshot(page, 'account-recovery-codes');

    await page.goto(`${suite.server.issuer}/account/password`);
    await screenshot(page, 'account-password');
    await page.goto(`${suite.server.issuer}/account/sessions`);
    await page.getByRole('heading', { name: 'Where you are signed in' }).waitFor();
    expect(await page.getByText('This browser').count()).toBe(1);
    await screenshot(page, 'account-sessions');
    await context.close();
  });

  it('reads well on a phone', async () => {
    const context = await suite.browser.newContext({
      viewport: { width: 375, height: 800 },
      deviceScaleFactor: 2,
      isMobile: true,
    });
    const page = await context.newPage();
    page.setDefaultTimeout(10_000);
    clock.advance(30_000);
    await page.goto(`${suite.server.issuer}/account/two-factor`);
    await page.getByLabel('Email').fill(seeded.user.email);
    await signIn(page);
    await page.getByRole('navigation', { name: 'Account' }).waitFor();
    expect(new URL(page.url()).pathname).toBe('/account/two-factor');
    expect(await page.evaluate('document.documentElement.scrollWidth <= window.innerWidth')).toBe(true);
    await screenshot(page, 'account-two-factor-phone');
    await context.close();
  });
});
