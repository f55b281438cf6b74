import type { Page } from 'playwright-core';
import { beforeAll, describe, expect, it } from 'vitest';

import type { User } from '../../src/ports/stores.ts';
import { Agent, readForm } from '../helpers/agent.ts';
import { browserSkipReason, screenshot, useServerAndBrowser } from '../helpers/browser.ts';
import { createTestClock } from '../helpers/clock.ts';
import { enrolTotp, PASSWORD, seedUser, type Seeded } from '../helpers/seed.ts';
import { totpAt } from '../helpers/totp.ts';

const skip = browserSkipReason() !== null;
/** Each test takes a dozen full-page screenshots at two widths: more than the default 30 s on a busy machine. */
const SCREENSHOTS_TIMEOUT = 90_000;

/**
 * A person's account in the admin console, in real Chromium: a member whose sign-in is slowed
 * down by wrong passwords, cleared; the same member disabled through the confirmation; the People
 * list with the "Disabled" filter; the administrator's own page. Screenshots, desktop and phone.
 */
describe.skipIf(skip)("a person's account in the admin console, in real Chromium", () => {
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
    await seedUser(suite.server.app, { slug: 'acme', email: 'bob@acme.example', name: 'Bob Babbage' });
    clock.advance(30_000);
  });

  /** Five wrong passwords for Ada at the sign-in page, from a browser of their own. */
  async function slowDownAda() {
    for (let i = 0; i < 5; i++) {
      const agent = new Agent();
      const start = await agent.follow(
        await agent.request(`${suite.server.issuer}/account`),
        new URL(`${suite.server.issuer}/account`),
      );
      const form = readForm(await start.response.text(), /\/login$/);
      const target = new URL(form.action, start.url);
      await agent.request(target, { form: { _csrf: form.csrf, email: member.email, password: 'wrong password here' } });
    }
  }

  async function signInAsAdmin(page: Page) {
    await page.goto(`${suite.server.issuer}/admin/people`);
    await page.getByLabel('Email').fill(admin.user.email);
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Continue' }).click();
    clock.advance(30_000);
    await page.getByLabel('6-digit code from your authenticator app').fill(totpAt(secret, clock.now() / 1000));
    await page.getByRole('button', { name: 'Verify' }).click();
    await page.getByRole('heading', { name: 'People' }).waitFor();
  }

  /** Desktop as shown, then the same page on a phone, which must not scroll sideways. */
  async function shoot(page: Page, name: string) {
    await page.setViewportSize({ width: 1280, height: 900 });
    await screenshot(page, name);
    await page.setViewportSize({ width: 390, height: 844 });
    await screenshot(page, `${name}-phone`);
    expect(await page.evaluate('document.documentElement.scrollWidth <= window.innerWidth'), name).toBe(true);
    await page.setViewportSize({ width: 1280, height: 900 });
  }

  it(
    'clears a slowed sign-in and disables the member after confirming',
    async () => {
      await slowDownAda();
      const context = await suite.browser.newContext({ viewport: { width: 1280, height: 900 } });
      const page = await context.newPage();
      page.setDefaultTimeout(10_000);
      await signInAsAdmin(page);

      await page.getByRole('link', { name: 'Ada Lovelace' }).click();
      await page.getByText('Sign-in is slowed down').waitFor();
      await shoot(page, 'admin-person-slowed');
      await page.getByRole('button', { name: 'Clear failed attempts' }).click();
      await page.getByText('The failed sign-in attempts were cleared.').waitFor();

      await page.getByText('Disable the account', { exact: true }).click();
      await shoot(page, 'admin-person-disable-confirm');
      await page.getByRole('button', { name: 'Yes, disable the account' }).click();
      await page.getByText('The account is disabled.').waitFor();
      await shoot(page, 'admin-person-disabled');
      expect((await suite.server.app.stores.users.findUserBySubject(member.id))!.user.disabledAt).not.toBeNull();
      await context.close();

      // Ada herself, with her right password: told why, and nothing more.
      const adas = await suite.browser.newContext({ viewport: { width: 1280, height: 900 } });
      const adasPage = await adas.newPage();
      adasPage.setDefaultTimeout(10_000);
      await adasPage.goto(`${suite.server.issuer}/account`);
      await adasPage.getByLabel('Email').fill(member.email);
      await adasPage.getByLabel('Password').fill(PASSWORD);
      await adasPage.getByRole('button', { name: 'Continue' }).click();
      await adasPage.getByText('This account is disabled. Contact your administrator.').waitFor();
      await shoot(adasPage, 'login-disabled');
      await adas.close();
    },
    SCREENSHOTS_TIMEOUT,
  );

  it(
    "lists the disabled member with a filter, and explains the limits of an administrator's own page",
    async () => {
      const context = await suite.browser.newContext({ viewport: { width: 1280, height: 900 } });
      const page = await context.newPage();
      page.setDefaultTimeout(10_000);
      await signInAsAdmin(page);
      await page.getByRole('heading', { name: 'People' }).waitFor();
      await shoot(page, 'admin-people-with-disabled');
      await page.getByLabel('Account').selectOption('disabled');
      await page.getByRole('button', { name: 'Show' }).click();
      await page.getByText('1 person').waitFor();
      await shoot(page, 'admin-people-disabled-filter');

      await page.goto(`${suite.server.issuer}/admin/people/${admin.user.id}`);
      await page.getByText('You cannot disable your own account here.').waitFor();
      await shoot(page, 'admin-person-self');
      await context.close();
    },
    SCREENSHOTS_TIMEOUT,
  );
});
