import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { USER_AGENTS } from '../helpers/account-driver.ts';
import { audit } from '../helpers/axe.ts';
import { browserSkipReason, screenshot, useServerAndBrowser } from '../helpers/browser.ts';
import { createTestClock } from '../helpers/clock.ts';
import { enrolTotp, seedUser, type Seeded } from '../helpers/seed.ts';
import { totpAt } from '../helpers/totp.ts';

const skip = browserSkipReason() !== null;
const DESKTOP = { viewport: { width: 1280, height: 900 } };

/**
 * Issue 8, screens: trusted browsers people can recognise, in real Chromium: the browser and
 * system with versions, when each was first trusted and last skipped the second step (in the
 * reader's time zone), "This browser", and a "Stop trusting" button named after its row.
 */
describe.skipIf(skip)('trusted browsers in real Chromium', () => {
  const clock = createTestClock(Date.now() - 1_200_000);
  const suite = useServerAndBrowser('sqlite', { clock });
  let ada: Seeded;
  let secret: Buffer;
  /** Ada's own browser (trusted last), in Tokyo, where she reads her lists. */
  let here: BrowserContext;
  let page: Page;

  /** Signs in to My Account, with the authenticator app's code when it is asked for. */
  async function signIn(context: BrowserContext, trust: boolean): Promise<Page> {
    const opened = await context.newPage();
    opened.setDefaultTimeout(10_000);
    await opened.goto(`${suite.server.issuer}/account/sessions`);
    await opened.getByLabel('Email').fill(ada.user.email);
    await opened.getByLabel('Password').fill(ada.password);
    await opened.getByRole('button', { name: 'Continue' }).click();
    if (trust) {
      clock.advance(30_000);
      await opened.getByLabel('6-digit code from your authenticator app').fill(totpAt(secret, clock.now() / 1000));
      await opened.getByLabel(/Trust this browser/).check();
      await opened.getByRole('button', { name: 'Verify' }).click();
    }
    await opened.getByRole('heading', { name: 'Where you are signed in' }).waitFor();
    return opened;
  }

  beforeAll(async () => {
    clock.tickOnRead(1);
    ada = await seedUser(suite.server.app, { email: 'ada@acme.example' });
    ({ secret } = await enrolTotp(suite.server.app, ada, clock.now(), 'Pixel phone', { recoveryCodes: true }));
    // A Windows laptop trusted first, then used again an hour later: the trust skips the code.
    const laptop = await suite.browser.newContext({ ...DESKTOP, userAgent: USER_AGENTS.chromeOnWindows });
    await signIn(laptop, true);
    const trustCookie = (await laptop.cookies()).filter((c) => c.name === 'twofold.trusted');
    await laptop.close();
    clock.advance(3_600_000);
    const again = await suite.browser.newContext({ ...DESKTOP, userAgent: USER_AGENTS.chromeOnWindows });
    await again.addCookies(trustCookie);
    await signIn(again, false);
    await again.close();
    here = await suite.browser.newContext({ ...DESKTOP, timezoneId: 'Asia/Tokyo', locale: 'en-GB' });
    page = await signIn(here, true);
  });
  afterAll(async () => {
    await here?.close();
  });

  const fitsTheScreen = (p: Page) => p.evaluate('document.documentElement.scrollWidth <= window.innerWidth');

  it(
    'names each browser with versions, says which is this one, and shows both times in the local zone',
    { timeout: 90_000 },
    async () => {
      const list = page.locator('ul.trusted-browsers');
      const rows = list.locator('li');
      expect(await rows.count()).toBe(2);
      const laptop = rows.filter({ hasText: 'Chrome 128 on Windows 10' });
      const mine = rows.filter({ hasText: 'This browser' });
      expect(await mine.count()).toBe(1);
      // The laptop skipped its code once: it has a last use; this browser has not skipped one yet.
      expect(await laptop.locator('dt:text-is("Last used") + dd time.local').count()).toBe(1);
      expect(await mine.locator('dt:text-is("Last used") + dd').innerText()).toBe('Not yet');
      const times = list.locator('time.local');
      expect(await times.count()).toBe(5);
      expect(await times.first().innerText()).toMatch(/GMT\+9|JST/);
      expect(await times.first().getAttribute('title')).toMatch(/ UTC$/);
      await page.getByRole('button', { name: 'Stop trusting Chrome 128 on Windows 10', exact: true }).waitFor();
      await page.getByRole('button', { name: /^Stop trusting this browser \(.+\)$/ }).waitFor();
      expect(await audit(page)).toEqual([]);
      await screenshot(page, 'account-trusted-browsers-desktop');

      await page.goto(`${suite.server.issuer}/account/two-factor`);
      await page.getByRole('heading', { name: 'Trusted browsers' }).waitFor();
      expect(await page.locator('ul.trusted-browsers time.local').first().innerText()).toMatch(/GMT\+9|JST/);
      expect(await audit(page)).toEqual([]);
      await screenshot(page, 'account-two-factor-trusted-desktop');
      await page.goto(`${suite.server.issuer}/account`);
      await page.getByText('Signed in on 2 browsers. 2 trusted browsers skip the second step.').waitFor();
      await screenshot(page, 'account-overview-desktop');
    },
  );

  it('reads well on a phone', { timeout: 90_000 }, async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    for (const [path, shot] of [
      ['/account/sessions', 'account-trusted-browsers-phone'],
      ['/account/two-factor', 'account-two-factor-trusted-phone'],
      ['/account', 'account-overview-phone'],
    ] as const) {
      await page.goto(`${suite.server.issuer}${path}`);
      expect(await fitsTheScreen(page), path).toBe(true);
      expect(await audit(page), path).toEqual([]);
      await screenshot(page, shot);
    }
    await page.setViewportSize(DESKTOP.viewport);
  });

  it('stops trusting the browser its button names, and only that one', { timeout: 90_000 }, async () => {
    await page.goto(`${suite.server.issuer}/account/sessions`);
    await page.getByRole('button', { name: 'Stop trusting Chrome 128 on Windows 10', exact: true }).click();
    await page.getByText('That browser will ask for your second step again.').waitFor();
    const rows = page.locator('ul.trusted-browsers li');
    expect(await rows.count()).toBe(1);
    expect(await rows.first().innerText()).toContain('This browser');
  });
});
