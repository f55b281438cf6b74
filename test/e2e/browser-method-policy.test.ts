import type { BrowserContext, Page } from 'playwright-core';
import { beforeAll, describe, expect, it } from 'vitest';

import type { User } from '../../src/ports/stores.ts';
import { audit } from '../helpers/axe.ts';
import { addVirtualPasskey, browserSkipReason, screenshot, useServerAndBrowser } from '../helpers/browser.ts';
import { createTestClock } from '../helpers/clock.ts';
import { enrolTotp, PASSWORD, seedUser, type Seeded } from '../helpers/seed.ts';
import { totpAt } from '../helpers/totp.ts';

const skip = browserSkipReason() !== null;
const POLICY_CHANGER = { userId: 'test', ip: '127.0.0.1' };

const fitsTheScreen = (page: Page) => page.evaluate('document.documentElement.scrollWidth <= window.innerWidth');

/**
 * The method policy and the enrolment grace in real Chromium (each new or changed page also
 * audited by axe-core, WCAG 2.1 AA): where administrators must use
 * phishing-resistant methods, an administrator with an authenticator app alone proves it once
 * more and registers a security key (Chromium's virtual authenticator) before the console opens;
 * a member sees their enrolment deadline and goes on with the password alone. Screenshots of the
 * grace page, the Security page and the person page, desktop and phone.
 */
describe.skipIf(skip)('allowed methods and the enrolment grace in real Chromium', () => {
  const clock = createTestClock(Date.now() - 1_200_000);
  const suite = useServerAndBrowser('sqlite', { clock });
  let admin: Seeded;
  let secret: Buffer;
  let member: User;

  beforeAll(async () => {
    const { organizations, accounts } = suite.server.app.services;
    const created = await organizations.createOrganization({ slug: 'acme', name: 'Acme Corp' });
    const org = await organizations.updatePolicy(
      created,
      { enforceTfa: true, tfaGraceDays: 14, phishingResistant: 'admins' },
      POLICY_CHANGER,
    );
    const user = await accounts.createUser(org, {
      email: 'grace@acme.example',
      name: 'Grace Hopper',
      password: PASSWORD,
      role: 'admin',
    });
    admin = { org, user, password: PASSWORD };
    ({ secret } = await enrolTotp(suite.server.app, admin, clock.now(), 'Pixel phone', { recoveryCodes: true }));
    member = (await seedUser(suite.server.app, { slug: 'acme', email: 'ada@acme.example', name: 'Ada Lovelace' })).user;
    clock.advance(30_000);
  });

  /** The administrator's browser, shared by the steps below (her security key lives in it). */
  let context: BrowserContext;
  let page: Page;

  it('makes an administrator with an authenticator app alone prove it once more', async () => {
    context = await suite.browser.newContext({ viewport: { width: 1280, height: 900 } });
    page = await context.newPage();
    page.setDefaultTimeout(15_000);
    await addVirtualPasskey(context, page);
    await page.goto(`${suite.server.issuer}/admin`);
    await page.getByLabel('Email').fill(admin.user.email);
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.getByText('no longer allows the methods you have set up').waitFor();
    await screenshot(page, 'sign-in-method-not-allowed');
    expect(await audit(page)).toEqual([]);
    await page.getByLabel('6-digit code from your authenticator app').fill(totpAt(secret, clock.now() / 1000));
    await page.getByRole('button', { name: 'Verify' }).click();
    await page.getByRole('heading', { name: 'Set up two-step verification' }).waitFor();
  });

  it('then add a security key, with no other kind offered, before the console opens', async () => {
    expect(await page.getByRole('button', { name: 'Set up an authenticator app' }).count()).toBe(0);
    await screenshot(page, 'enrol-allowed-method');
    expect(await audit(page)).toEqual([]);
    await page.getByLabel('Name for this key').fill('Desk key');
    await page.getByRole('button', { name: 'Add a security key or passkey' }).click();
    // She keeps her recovery codes, so the sign-in ends here and the console opens.
    await page.getByRole('heading', { name: 'People' }).waitFor();
    const kinds = (await suite.server.app.factors.store.findFactors(admin.org.id, admin.user.id))
      .filter((f) => f.active)
      .map((f) => f.kind);
    expect(kinds.sort()).toEqual(['totp', 'webauthn']);
  });

  it("shows the people in their grace period, a person's deadline and the methods setting", async () => {
    await screenshot(page, 'admin-people-grace');
    await page.getByRole('link', { name: 'Ada Lovelace' }).click();
    await page.getByRole('heading', { name: 'Deadline to set up two-step verification' }).waitFor();
    await screenshot(page, 'admin-person-grace');
    expect(await audit(page)).toEqual([]);
    await page.getByRole('link', { name: 'Security' }).click();
    await page.getByRole('heading', { name: 'Methods people may use' }).waitFor();
    expect(await page.getByLabel('Text message (SMS)').isChecked()).toBe(true);
    expect(await page.getByLabel('Of administrators').isChecked()).toBe(true);
    await screenshot(page, 'admin-security-methods');
    expect(await audit(page)).toEqual([]);
    await page.goto(`${suite.server.issuer}/admin/security/enforcement?to=on`);
    await page.getByText('(the enrolment grace period)', { exact: false }).waitFor();
    await screenshot(page, 'admin-confirm-enforcement-grace');
  });

  it('says next to the field why a deadline is refused, and marks the methods no longer allowed', async () => {
    await page.goto(`${suite.server.issuer}/admin/people/${member.id}`);
    await page.getByLabel('New deadline').fill('2099-01-01');
    await page.getByRole('button', { name: 'Set the deadline' }).click();
    await page.getByText('Choose a date from today to 90 days from today.').waitFor();
    await screenshot(page, 'admin-grace-deadline-refused');
    expect(await audit(page)).toEqual([]);
    expect((await suite.server.app.stores.users.findUserBySubject(member.id))!.user.tfaGraceUntil).toBeNull();
    // Her authenticator app stays on her account, marked: administrators must use her key.
    await page.goto(`${suite.server.issuer}/account/two-factor`);
    await page.getByText('Not allowed by your organization').waitFor();
    await screenshot(page, 'account-two-factor-not-allowed');
    expect(await audit(page)).toEqual([]);
  });

  it('and the same pages read well on a phone', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    for (const [path, name] of [
      ['/admin/security', 'admin-security-methods-phone'],
      [`/admin/people/${member.id}`, 'admin-person-grace-phone'],
      ['/account/two-factor', 'account-two-factor-not-allowed-phone'],
    ] as const) {
      await page.goto(`${suite.server.issuer}${path}`);
      await screenshot(page, name);
      expect(await fitsTheScreen(page), path).toBe(true);
    }
    await context.close();
  });

  it('refuses a passkey sign-in once the organization no longer allows security keys and passkeys', async () => {
    const keys = await suite.server.app.services.organizations.createOrganization({
      slug: 'keys',
      name: 'Keys Inc',
      enforceTfa: true,
    });
    const pat = await seedUser(suite.server.app, { slug: 'keys', email: 'pat@keys.example' });
    const patContext = await suite.browser.newContext({ viewport: { width: 1280, height: 900 } });
    const patPage = await patContext.newPage();
    patPage.setDefaultTimeout(15_000);
    await addVirtualPasskey(patContext, patPage);
    await patPage.goto(`${suite.server.issuer}/account`);
    await patPage.getByLabel('Email').fill(pat.user.email);
    await patPage.getByLabel('Password').fill(PASSWORD);
    await patPage.getByRole('button', { name: 'Continue' }).click();
    await patPage.getByLabel('Also sign in with it without a password (passkey)').check();
    await patPage.getByRole('button', { name: 'Add a security key or passkey' }).click();
    await patPage.getByRole('button', { name: 'I have saved my codes, continue' }).click();
    await patPage.waitForURL((url) => url.pathname === '/account');

    await suite.server.app.services.organizations.updatePolicy(keys, { allowedMethods: ['totp'] }, POLICY_CHANGER);
    await patContext.clearCookies();
    await patPage.goto(`${suite.server.issuer}/account`);
    await patPage.getByRole('button', { name: 'Sign in with a passkey' }).click();
    await patPage.getByText('Keys Inc does not allow signing in with a security key or passkey.').waitFor();
    expect(new URL(patPage.url()).pathname).toMatch(/^\/interaction\//);
    await patContext.close();
  });

  for (const [viewport, name] of [
    [{ width: 1280, height: 900 }, 'sign-in-grace'],
    [{ width: 390, height: 844 }, 'sign-in-grace-phone'],
  ] as const) {
    it(`shows a member their deadline at sign-in, and "Not now" lets them in (${name})`, async () => {
      const memberContext = await suite.browser.newContext({ viewport, isMobile: viewport.width < 500 });
      const memberPage = await memberContext.newPage();
      memberPage.setDefaultTimeout(15_000);
      await memberPage.goto(`${suite.server.issuer}/account`);
      await memberPage.getByLabel('Email').fill(member.email);
      await memberPage.getByLabel('Password').fill(PASSWORD);
      await memberPage.getByRole('button', { name: 'Continue' }).click();
      await memberPage.getByText('(14 days left)').waitFor();
      await screenshot(memberPage, name);
      expect(await audit(memberPage)).toEqual([]);
      expect(await fitsTheScreen(memberPage)).toBe(true);
      await memberPage.getByRole('button', { name: /^Not now/ }).click();
      await memberPage.waitForURL((url) => url.pathname === '/account');
      await memberContext.close();
    });
  }
});
