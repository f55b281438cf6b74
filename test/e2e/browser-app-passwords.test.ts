import { beforeAll, describe, expect, it } from 'vitest';

import { browserSkipReason, screenshot, useServerAndBrowser } from '../helpers/browser.ts';
import { createTestClock } from '../helpers/clock.ts';
import { enrolTotp, seedUser, type Seeded } from '../helpers/seed.ts';
import { totpAt } from '../helpers/totp.ts';

const skip = browserSkipReason() !== null;

/** App passwords as a person meets them in real Chromium, desktop and phone: make one, copy it, see it listed. */
describe.skipIf(skip)('app passwords in real Chromium', () => {
  const clock = createTestClock(Date.now() - 1_200_000);
  const suite = useServerAndBrowser('sqlite', { clock });
  let seeded: Seeded;
  let secret: Buffer;

  beforeAll(async () => {
    seeded = await seedUser(suite.server.app, { email: 'grace@example.com', name: 'Grace Hopper' });
    ({ secret } = await enrolTotp(suite.server.app, seeded, clock.now(), 'Pixel phone', { recoveryCodes: true }));
    clock.advance(30_000);
  });

  for (const [device, viewport] of [
    ['desktop', { width: 1100, height: 900 }],
    ['phone', { width: 375, height: 740 }],
  ] as const) {
    it(`makes an app password, shows it once with a copy button, and lists it (${device})`, async () => {
      const context = await suite.browser.newContext({ viewport, isMobile: device === 'phone' });
      await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: suite.server.issuer });
      const page = await context.newPage();
      page.setDefaultTimeout(10_000);
      await page.goto(`${suite.server.issuer}/account/app-passwords`);
      await page.getByLabel('Email').fill(seeded.user.email);
      await page.getByLabel('Password').fill(seeded.password);
      await page.getByRole('button', { name: 'Continue' }).click();
      clock.advance(30_000);
      await page.getByLabel('6-digit code from your authenticator app').fill(totpAt(secret, clock.now() / 1000));
      await page.getByRole('button', { name: 'Verify' }).click();
      await page.getByRole('heading', { name: 'App passwords', exact: true }).waitFor();
      await screenshot(page, `account-app-passwords-${device}`);
      expect(await page.evaluate('document.documentElement.scrollWidth <= window.innerWidth')).toBe(true);

      await page.getByLabel('Name', { exact: true }).fill(`Thunderbird on ${device}`);
      await page.getByLabel('Calendars and contacts (CalDAV, CardDAV)').uncheck();
      await page.getByRole('button', { name: 'Make app password' }).click();
      await page.getByRole('heading', { name: 'Your new app password' }).waitFor();
      const shown = (await page.getByTestId('app-password').textContent())!.trim();
      expect(shown).toMatch(/^([a-z2-9]{4} ){4}[a-z2-9]{4}$/);
      await page.getByRole('button', { name: 'Copy' }).click();
      await page.getByRole('button', { name: 'Copied' }).waitFor();
      expect(await page.evaluate('navigator.clipboard.readText()')).toBe(shown);
      await screenshot(page, `account-app-password-new-${device}`);
      expect(await page.evaluate('document.documentElement.scrollWidth <= window.innerWidth')).toBe(true);

      await page.getByRole('link', { name: 'Done, back to app passwords' }).click();
      await page.getByText(`Thunderbird on ${device}`).waitFor();
      expect(await page.getByText('Not used yet.').count()).toBeGreaterThan(0);
      await screenshot(page, `account-app-passwords-listed-${device}`);
      await context.close();
    });
  }
});
