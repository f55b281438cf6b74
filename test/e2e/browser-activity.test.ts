import type { BrowserContext, Page } from 'playwright-core';
import { beforeAll, describe, expect, it } from 'vitest';

import { audit } from '../helpers/axe.ts';
import { browserSkipReason, screenshot, useServerAndBrowser } from '../helpers/browser.ts';
import { createTestClock } from '../helpers/clock.ts';
import { enrolTotp, PASSWORD, seedUser, type Seeded } from '../helpers/seed.ts';
import { totpAt } from '../helpers/totp.ts';

const skip = browserSkipReason() !== null;

/**
 * The Activity pages and the admin's person page in real Chromium, on a desktop and a phone:
 * filtering by kind of event from the form, an axe-core audit (WCAG 2.1 AA) of each page, and
 * screenshots of each to look at.
 */
describe.skipIf(skip)('the activity pages in real Chromium', () => {
  const clock = createTestClock(Date.now() - 1_200_000);
  const suite = useServerAndBrowser('sqlite', { clock });
  let admin: Seeded;
  let ada: Seeded;
  let secret: Buffer;
  let adaSecret: Buffer;
  /** Grace's console on a desktop, and Ada's phone (trusted at sign-in): signed in once, for every test. */
  let adminPage: Page;
  let adaPage: Page;
  const IPHONE =
    'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1';

  beforeAll(async () => {
    clock.tickOnRead(1);
    const app = suite.server.app;
    admin = await seedUser(app, { slug: 'acme', email: 'grace@acme.example', name: 'Grace Hopper', role: 'admin' });
    const { org } = admin;
    ({ secret } = await enrolTotp(app, admin, clock.now(), 'Pixel phone', { recoveryCodes: true }));
    ada = await seedUser(app, { slug: 'acme', email: 'ada@acme.example', name: 'Ada Lovelace' });
    ({ secret: adaSecret } = await enrolTotp(app, ada, clock.now(), 'iPhone', { recoveryCodes: true }));
    const person = { orgId: org.id, userId: ada.user.id, email: ada.user.email };
    await app.services.appPasswords.create(person, org, true, { name: 'Thunderbird', scopes: ['imap', 'smtp'] }, '::1');
    for (const wrong of ['tr0ub4dor', 'hunter2'])
      await app.services.accounts.verifyPassword({ email: ada.user.email, password: wrong, ip: '203.0.113.9' });
    await app.services.organizations.updatePolicy(org, { trustedBrowserDays: 14 }, { userId: admin.user.id });
    clock.advance(30_000);
    // Ada signs in on her phone and trusts it: the person page then has a session and a browser to show.
    const adasPhone = await suite.browser.newContext({ viewport: { width: 390, height: 844 }, userAgent: IPHONE });
    adaPage = await signedIn(adasPhone, '/account', ada, true);
    await adaPage.getByRole('heading', { name: 'Security of your account' }).waitFor();
    const desktop = await suite.browser.newContext({ viewport: { width: 1280, height: 900 } });
    adminPage = await signedIn(desktop, '/admin/activity', admin);
    await adminPage.getByRole('heading', { name: 'Activity' }).waitFor();
  });

  /** Signs in with the password and the authenticator app's code, trusting the browser when asked. */
  async function signedIn(context: BrowserContext, start: string, who: Seeded, trust = false): Promise<Page> {
    const page = await context.newPage();
    page.setDefaultTimeout(10_000);
    await page.goto(`${suite.server.issuer}${start}`);
    await page.getByLabel('Email').fill(who.user.email);
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Continue' }).click();
    clock.advance(30_000);
    const seed = who === ada ? adaSecret : secret;
    await page.getByLabel('6-digit code from your authenticator app').fill(totpAt(seed, clock.now() / 1000));
    if (trust) await page.getByLabel(/Trust this browser/).check();
    await page.getByRole('button', { name: 'Verify' }).click();
    return page;
  }

  const fitsTheScreen = (page: Page) => page.evaluate('document.documentElement.scrollWidth <= window.innerWidth');

  it('filters the trail from the form and shows every column on a desktop', async () => {
    await adminPage.goto(`${suite.server.issuer}/admin/activity`);
    await adminPage.getByRole('heading', { name: 'Activity' }).waitFor();
    await screenshot(adminPage, 'admin-activity');
    expect(await audit(adminPage)).toEqual([]);
    await adminPage.getByLabel('Kind of event').selectOption({ label: 'Failed sign-ins' });
    await adminPage.getByLabel('Person').fill('lovelace');
    await adminPage.getByRole('button', { name: 'Show events' }).click();
    await adminPage.getByText('2 events on this page, newest first.').waitFor();
    expect(await adminPage.getByRole('cell', { name: 'Wrong password entered' }).count()).toBe(2);
    await screenshot(adminPage, 'admin-activity-filtered');
    await adminPage.getByLabel('To (UTC)').fill('2031-01-01');
    await adminPage.getByLabel('From (UTC)').fill('2031-02-01');
    await adminPage.getByRole('button', { name: 'Show events' }).click();
    await adminPage.getByText('The end date is before the start date.').waitFor();
    await screenshot(adminPage, 'admin-activity-error');
    expect(await audit(adminPage)).toEqual([]);
  });

  it("shows a person's sessions and trusted browsers, and leads to their activity", async () => {
    await adminPage.goto(`${suite.server.issuer}/admin/people/${ada.user.id}`);
    await adminPage.getByRole('heading', { name: 'Where they are signed in' }).waitFor();
    // The session (named with versions since issue 8's sessions work) and the trusted browser.
    expect(await adminPage.getByText(/Safari( [\d.]+)? on iOS/).count()).toBe(2);
    await screenshot(adminPage, 'admin-person-sessions');
    expect(await audit(adminPage)).toEqual([]);
    await adminPage.getByRole('link', { name: 'See all of their activity' }).click();
    await adminPage.getByRole('heading', { name: 'Activity' }).waitFor();
    expect(await adminPage.getByLabel('Person').inputValue()).toBe('ada@acme.example');
  });

  it('reads well on a phone: the console trail, the person page and My Account → Activity', async () => {
    await adminPage.setViewportSize({ width: 390, height: 844 });
    for (const [path, name] of [
      ['/admin/activity', 'admin-activity-phone'],
      [`/admin/people/${ada.user.id}`, 'admin-person-sessions-phone'],
    ] as const) {
      await adminPage.goto(`${suite.server.issuer}${path}`);
      await screenshot(adminPage, name);
      expect(await fitsTheScreen(adminPage), path).toBe(true);
      expect(await audit(adminPage), path).toEqual([]);
    }
    await adaPage.goto(`${suite.server.issuer}/account/activity`);
    await adaPage.getByRole('heading', { name: 'Your activity' }).waitFor();
    expect(await adaPage.getByRole('cell', { name: 'Wrong password entered' }).count()).toBe(2);
    await screenshot(adaPage, 'account-activity-phone');
    expect(await fitsTheScreen(adaPage)).toBe(true);
    expect(await audit(adaPage)).toEqual([]);
    await adaPage.setViewportSize({ width: 1280, height: 900 });
    await screenshot(adaPage, 'account-activity');
  });
});
