import type { Page } from 'playwright-core';
import { beforeAll, describe, expect, it } from 'vitest';

import type { User } from '../../src/ports/stores.ts';
import { browserSkipReason, screenshot, useServerAndBrowser } from '../helpers/browser.ts';
import { createTestClock } from '../helpers/clock.ts';
import { enrolTotp, PASSWORD, seedUser, type Seeded } from '../helpers/seed.ts';
import { totpAt } from '../helpers/totp.ts';

const skip = browserSkipReason() !== null;

/**
 * The admin console in real Chromium: an administrator turns enforcement on (re-authenticating
 * with their second factor, since their sign-in is stale), after which a member without a method
 * is made to enrol at sign-in. Screenshots of every console page, desktop and phone.
 */
describe.skipIf(skip)('the admin console in real Chromium', () => {
  const clock = createTestClock(Date.now() - 1_200_000);
  const suite = useServerAndBrowser('sqlite', { clock });
  let admin: Seeded;
  let secret: Buffer;
  let member: User;

  beforeAll(async () => {
    admin = await seedUser(suite.server.app, {
      slug: 'acme',
      email: 'grace@acme.example',
      name: 'Grace Hopper',
      role: 'admin',
    });
    ({ secret } = await enrolTotp(suite.server.app, admin, clock.now(), 'Pixel phone', { recoveryCodes: true }));
    member = (await seedUser(suite.server.app, { slug: 'acme', email: 'ada@acme.example', name: 'Ada Lovelace' })).user;
    clock.advance(30_000);
  });

  async function secondStep(page: Page) {
    clock.advance(30_000);
    await page.getByLabel('6-digit code from your authenticator app').fill(totpAt(secret, clock.now() / 1000));
    await page.getByRole('button', { name: 'Verify' }).click();
  }

  it('turns enforcement on after re-authentication, and the member must then set up a method', async () => {
    const context = await suite.browser.newContext({ viewport: { width: 1100, height: 900 } });
    const page = await context.newPage();
    page.setDefaultTimeout(10_000);
    await page.goto(`${suite.server.issuer}/admin`);
    await page.getByLabel('Email').fill(admin.user.email);
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Continue' }).click();
    await secondStep(page);
    await page.getByRole('heading', { name: 'People' }).waitFor();
    await screenshot(page, 'admin-people');
    await page.getByRole('link', { name: 'Ada Lovelace' }).click();
    await page.getByRole('heading', { name: 'Ada Lovelace' }).waitFor();
    await screenshot(page, 'admin-person');

    await page.getByRole('link', { name: 'Security' }).click();
    await page.getByRole('heading', { name: 'Security', exact: true }).waitFor();
    await screenshot(page, 'admin-security');
    await page.getByRole('link', { name: 'Require it for everyone' }).click();
    await page.getByRole('heading', { name: 'Require two-step verification for everyone?' }).waitFor();
    await screenshot(page, 'admin-confirm-enforcement');
    // Five minutes pass: the change needs a fresh sign-in, with the administrator's second factor.
    clock.advance(301_000);
    await page.getByRole('button', { name: 'Require it for everyone' }).click();
    await page.getByRole('heading', { name: "Confirm it's you" }).waitFor();
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Continue' }).click();
    await secondStep(page);
    await page.getByText('Two-step verification is now required for everyone.').waitFor();
    expect((await suite.server.app.stores.organizations.findOrganizationBySlug('acme'))!.enforceTfa).toBe(true);
    await screenshot(page, 'admin-security-enforced');
    await context.close();

    const memberContext = await suite.browser.newContext({ viewport: { width: 1100, height: 900 } });
    const memberPage = await memberContext.newPage();
    memberPage.setDefaultTimeout(10_000);
    await memberPage.goto(`${suite.server.issuer}/account`);
    await memberPage.getByLabel('Email').fill(member.email);
    await memberPage.getByLabel('Password').fill(PASSWORD);
    await memberPage.getByRole('button', { name: 'Continue' }).click();
    await memberPage.getByRole('heading', { name: 'Set up two-step verification' }).waitFor();
    await memberContext.close();
  });

  it('reads well on a phone', async () => {
    const context = await suite.browser.newContext({ viewport: { width: 375, height: 740 }, isMobile: true });
    const page = await context.newPage();
    page.setDefaultTimeout(10_000);
    await page.goto(`${suite.server.issuer}/admin/people`);
    await page.getByLabel('Email').fill(admin.user.email);
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Continue' }).click();
    await secondStep(page);
    await page.getByRole('heading', { name: 'People' }).waitFor();
    for (const [path, name] of [
      ['/admin/people', 'admin-people-phone'],
      [`/admin/people/${member.id}`, 'admin-person-phone'],
      ['/admin/security', 'admin-security-phone'],
    ] as const) {
      await page.goto(`${suite.server.issuer}${path}`);
      await screenshot(page, name);
      expect(await page.evaluate('document.documentElement.scrollWidth <= window.innerWidth'), path).toBe(true);
    }
    await context.close();
  });
});
