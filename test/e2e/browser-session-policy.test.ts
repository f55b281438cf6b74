import type { BrowserContext, Page } from 'playwright-core';
import { beforeAll, describe, expect, it } from 'vitest';

import type { User } from '../../src/ports/stores.ts';
import { audit } from '../helpers/axe.ts';
import { browserSkipReason, screenshot, useServerAndBrowser } from '../helpers/browser.ts';
import { createTestClock } from '../helpers/clock.ts';
import { enrolTotp, PASSWORD, seedUser, type Seeded } from '../helpers/seed.ts';
import { totpAt } from '../helpers/totp.ts';

const skip = browserSkipReason() !== null;

const LOGO = 'https://logo.acme.example/acme.svg';
/** The logo host is not on this machine's network: Chromium gets this image for it instead. */
const LOGO_SVG = `<svg xmlns="http://www.w3.org/2000/svg" width="100" height="40" viewBox="0 0 100 40">
  <rect width="40" height="40" rx="9" fill="#0f766e"/><path d="M9 31 20 8l11 23h-6l-5-11-5 11z" fill="#fff"/>
  <text x="48" y="27" font-family="Georgia, serif" font-size="20" fill="#0f766e">acme</text></svg>`;

const DESKTOP = { viewport: { width: 1280, height: 900 } };
const PHONE = { viewport: { width: 390, height: 844 }, isMobile: true };

/**
 * Console → Security's session, password and logo settings, the header with the organization's
 * logo, and the new password asked for at sign-in once a password has expired, in real Chromium,
 * desktop and phone, audited by axe-core. Screenshots go to screenshots/.
 */
describe.skipIf(skip)('sessions, password expiry and the logo in real Chromium', () => {
  const clock = createTestClock(Date.now() - 40 * 86_400_000);
  const suite = useServerAndBrowser('sqlite', { clock });
  let admin: Seeded;
  let adminSecret: Buffer;
  let member: User;
  let memberSecret: Buffer;

  beforeAll(async () => {
    admin = await seedUser(suite.server.app, {
      slug: 'acme',
      email: 'grace@acme.example',
      name: 'Grace Hopper',
      role: 'admin',
    });
    ({ secret: adminSecret } = await enrolTotp(suite.server.app, admin, clock.now(), 'Pixel phone'));
    const seeded = await seedUser(suite.server.app, { slug: 'acme', email: 'ada@acme.example', name: 'Ada Lovelace' });
    member = seeded.user;
    ({ secret: memberSecret } = await enrolTotp(suite.server.app, seeded, clock.now(), 'iPhone'));
  });

  async function open(options: typeof DESKTOP | typeof PHONE): Promise<{ context: BrowserContext; page: Page }> {
    const context = await suite.browser.newContext(options);
    await context.route(LOGO, (route) => route.fulfill({ contentType: 'image/svg+xml', body: LOGO_SVG }));
    const page = await context.newPage();
    page.setDefaultTimeout(10_000);
    return { context, page };
  }

  async function signIn(page: Page, path: string, email: string, secret: Buffer) {
    await page.goto(`${suite.server.issuer}${path}`);
    await page.getByLabel('Email').fill(email);
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Continue' }).click();
    clock.advance(30_000);
    await page.getByLabel('6-digit code from your authenticator app').fill(totpAt(secret, clock.now() / 1000));
    await page.getByRole('button', { name: 'Verify' }).click();
  }

  const fitsTheScreen = (page: Page) => page.evaluate('document.documentElement.scrollWidth <= window.innerWidth');

  it(
    'sets the lifetimes and the logo, which then heads the console and the account pages',
    { timeout: 90_000 },
    async () => {
      const { context, page } = await open(DESKTOP);
      await signIn(page, '/admin/security', admin.user.email, adminSecret);
      await page.getByRole('heading', { name: 'Sessions and passwords' }).waitFor();
      await page.getByLabel('Ask to sign in again after (hours)').fill('0');
      await page.getByRole('button', { name: 'Save session and password settings' }).click();
      await page.getByText('Use 1 to 720 hours (30 days).').waitFor();
      await screenshot(page, 'admin-security-sessions-error');
      await page.getByLabel('Ask to sign in again after (hours)').fill('10');
      await page.getByRole('button', { name: 'Save session and password settings' }).click();
      await page.getByText('The settings were saved.').waitFor();
      await page.getByLabel('Logo address').fill(LOGO);
      await page.getByRole('button', { name: 'Save logo' }).click();
      await page.getByText('The settings were saved.').waitFor();
      const logo = page.getByRole('img', { name: 'Acme Corp logo' });
      await logo.waitFor();
      expect(
        await logo.evaluate((img: { complete: boolean; naturalWidth: number }) => img.complete && img.naturalWidth > 0),
      ).toBe(true);
      expect((await logo.boundingBox())!.height).toBe(32);
      await screenshot(page, 'admin-security-sessions');
      expect(await audit(page)).toEqual([]);
      await page.goto(`${suite.server.issuer}/account`);
      await page.getByRole('heading', { name: 'Security of your account' }).waitFor();
      await screenshot(page, 'header-logo-account');
      expect(await audit(page)).toEqual([]);
      expect((await suite.server.app.stores.organizations.findOrganizationBySlug('acme'))!.sessionMaxHours).toBe(10);
      await context.close();
    },
  );

  it('reads well on a phone', { timeout: 90_000 }, async () => {
    const { context, page } = await open(PHONE);
    await signIn(page, '/admin/security', admin.user.email, adminSecret);
    await page.getByRole('heading', { name: 'Sessions and passwords' }).waitFor();
    await screenshot(page, 'admin-security-sessions-phone');
    expect(await fitsTheScreen(page)).toBe(true);
    await page.goto(`${suite.server.issuer}/account/two-factor`);
    await page.getByRole('button', { name: 'Set up an authenticator app' }).click();
    await page.getByText('Your app will list it as').waitFor();
    await screenshot(page, 'totp-issuer-phone');
    await context.close();
  });

  it(
    'asks for a new password after the second factor once the password has expired',
    { timeout: 120_000 },
    async () => {
      await suite.server.app.services.organizations.updatePolicy(
        (await suite.server.app.stores.organizations.findOrganizationBySlug('acme'))!,
        { passwordMaxAgeDays: 30 },
        { userId: admin.user.id, ip: '127.0.0.1' },
      );
      clock.advance(31 * 86_400_000);
      // The phone first: the desktop run then chooses the new password for good.
      for (const [options, suffix] of [
        [PHONE, '-phone'],
        [DESKTOP, ''],
      ] as const) {
        const { context, page } = await open(options);
        await signIn(page, '/account', member.email, memberSecret);
        await page.getByRole('heading', { name: 'Choose a new password' }).waitFor();
        await page.getByLabel('New password', { exact: true }).fill('short');
        await page.getByLabel('Type the new password again').fill('short');
        await page.getByRole('button', { name: 'Save the new password and continue' }).click();
        await page.getByText('Use at least 15 characters').waitFor();
        await screenshot(page, `password-expired${suffix}`);
        expect(await audit(page)).toEqual([]);
        expect(await fitsTheScreen(page)).toBe(true);
        if (suffix === '') {
          const fresh = 'orchard velvet compass 2291';
          await page.getByLabel('New password', { exact: true }).fill(fresh);
          await page.getByLabel('Type the new password again').fill(fresh);
          await page.getByRole('button', { name: 'Save the new password and continue' }).click();
          await page.getByRole('heading', { name: 'Security of your account' }).waitFor();
          await screenshot(page, 'header-logo-account-after-renewal');
        }
        await context.close();
      }
    },
  );
});
