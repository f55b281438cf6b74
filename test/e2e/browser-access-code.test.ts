import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { BrowserContext, Page } from 'playwright-core';
import { beforeAll, describe, expect, it } from 'vitest';

import { browserSkipReason, screenshot, useServerAndBrowser } from '../helpers/browser.ts';
import { createTestClock } from '../helpers/clock.ts';
import { enrolTotp, PASSWORD, seedUser, type Seeded } from '../helpers/seed.ts';
import { secretFromUri, totpAt } from '../helpers/totp.ts';

const skip = browserSkipReason() !== null;
/** Each test drives two browsers through a dozen pages (and axe-core) on shared cores. */
const TIMEOUT_MS = 90_000;
const AXE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

/** The serious and critical WCAG 2.1 A/AA violations axe-core finds in the page. */
async function violations(page: Page): Promise<string[]> {
  await page.evaluate(AXE);
  const found = (await page.evaluate(
    `axe.run(document, { runOnly: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] }).then((r) => r.violations)`,
  )) as { id: string; impact: string | null }[];
  return found.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => v.id);
}

/**
 * Temporary access codes in real Chromium, on a desktop and a phone: the administrator makes a
 * code on the person's page and copies it; the person signs in with their password and the code,
 * sets up a new authenticator app and lands in their account. Screenshots of each page.
 */
describe.skipIf(skip)('temporary access codes in real Chromium', () => {
  const clock = createTestClock(Date.now() - 1_200_000);
  const suite = useServerAndBrowser('sqlite', { clock });
  let admin: Seeded;
  let adminSecret: Buffer;
  let ada: Seeded;

  beforeAll(async () => {
    ada = await seedUser(suite.server.app, { slug: 'acme', email: 'ada@acme.example', name: 'Ada Lovelace' });
    const user = await suite.server.app.services.accounts.createUser(ada.org, {
      email: 'grace@acme.example',
      name: 'Grace Hopper',
      password: PASSWORD,
      role: 'admin',
    });
    admin = { org: ada.org, user, password: PASSWORD };
    ({ secret: adminSecret } = await enrolTotp(suite.server.app, admin, clock.now(), 'Pixel phone'));
    await enrolTotp(suite.server.app, ada, clock.now(), 'Lost phone');
    clock.advance(30_000);
  });

  async function open(viewport: { width: number; height: number }): Promise<{ context: BrowserContext; page: Page }> {
    const context = await suite.browser.newContext({ viewport, isMobile: viewport.width < 500 });
    const page = await context.newPage();
    page.setDefaultTimeout(10_000);
    return { context, page };
  }

  async function password(page: Page, email: string) {
    await page.getByLabel('Email').fill(email);
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Continue' }).click();
  }

  /** The administrator makes a code for Ada; returns it as the page shows it. */
  async function makeCode(page: Page, suffix: string): Promise<string> {
    await page.goto(`${suite.server.issuer}/admin/people/${ada.user.id}`);
    await page.getByRole('heading', { name: 'Temporary access code' }).waitFor();
    await screenshot(page, `admin-access-code-issue${suffix}`);
    await page.getByLabel('Works for').selectOption({ label: '4 hours' });
    await page.getByRole('button', { name: /^Make (a|a new) code$/ }).click();
    const code = page.getByTestId('access-code');
    await code.waitFor();
    await screenshot(page, `admin-access-code-shown${suffix}`);
    expect(await violations(page)).toEqual([]);
    return (await code.textContent())!;
  }

  async function adminSignIn(page: Page) {
    await page.goto(`${suite.server.issuer}/admin/people`);
    await password(page, admin.user.email);
    clock.advance(30_000);
    await page.getByLabel('6-digit code from your authenticator app').fill(totpAt(adminSecret, clock.now() / 1000));
    await page.getByRole('button', { name: 'Verify' }).click();
    await page.getByRole('heading', { name: 'People' }).waitFor();
  }

  let code = '';

  it(
    "an administrator makes a code on the person's page and copies it",
    async () => {
      const desk = await open({ width: 1280, height: 900 });
      await desk.context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: suite.server.issuer });
      await adminSignIn(desk.page);
      code = await makeCode(desk.page, '');
      await desk.page.getByRole('button', { name: 'Copy' }).click();
      await desk.page.getByRole('button', { name: 'Copied' }).waitFor();
      expect(await desk.page.evaluate('navigator.clipboard.readText()')).toBe(code);
      await desk.page.getByRole('link', { name: 'Done, back to Ada Lovelace' }).click();
      await desk.page.getByText('It can be used once.').waitFor();
      await screenshot(desk.page, 'admin-access-code-waiting');
      await desk.context.close();
    },
    TIMEOUT_MS,
  );

  it(
    'the person signs in with their password and the code, then sets up a new method',
    async () => {
      const person = await open({ width: 1280, height: 900 });
      await person.page.goto(`${suite.server.issuer}/account`);
      await password(person.page, ada.user.email);
      await person.page.getByText('Use another method').click();
      await person.page.getByRole('link', { name: 'Temporary access code (from your administrator)' }).click();
      await person.page.getByLabel('Temporary access code').fill('AAAA-BBBB-CCCC');
      await person.page.getByRole('button', { name: 'Continue' }).click();
      await person.page.getByRole('alert').waitFor();
      await screenshot(person.page, 'signin-access-code-error');
      expect(await violations(person.page)).toEqual([]);
      await person.page.getByLabel('Temporary access code').fill(code.toLowerCase());
      await person.page.getByRole('button', { name: 'Continue' }).click();
      await person.page.getByText('Your temporary access code worked').waitFor();
      await screenshot(person.page, 'signin-access-code-enrol');

      await person.page.getByRole('button', { name: 'Set up an authenticator app' }).click();
      await person.page.getByText("Can't scan it? Enter this key instead").click();
      const key = (await person.page.getByTestId('manual-key').textContent())!.replaceAll(' ', '');
      const secret = secretFromUri(`otpauth://totp/x?secret=${key}`);
      await person.page.getByLabel('Enter the 6-digit code the app shows').fill(totpAt(secret, clock.now() / 1000));
      await person.page.getByRole('button', { name: 'Confirm and continue' }).click();
      await person.page.getByRole('button', { name: 'I have saved my codes, continue' }).click();
      await person.page.waitForURL(`${suite.server.issuer}/account`);
      await person.context.close();
    },
    TIMEOUT_MS,
  );

  it(
    'reads well on a phone',
    async () => {
      const phone = await open({ width: 390, height: 844 });
      await adminSignIn(phone.page);
      const phoneCode = await makeCode(phone.page, '-phone');
      expect(await phone.page.evaluate('document.documentElement.scrollWidth <= window.innerWidth')).toBe(true);

      const person = await open({ width: 390, height: 844 });
      await person.page.goto(`${suite.server.issuer}/account`);
      await password(person.page, ada.user.email);
      await person.page.getByText('Use another method').click();
      await person.page.getByRole('link', { name: 'Temporary access code (from your administrator)' }).click();
      await person.page.getByLabel('Temporary access code').waitFor();
      await screenshot(person.page, 'signin-access-code-phone');
      expect(await person.page.evaluate('document.documentElement.scrollWidth <= window.innerWidth')).toBe(true);
      await person.page.getByLabel('Temporary access code').fill(phoneCode);
      await person.page.getByRole('button', { name: 'Continue' }).click();
      await person.page.getByText('Your temporary access code worked').waitFor();
      await screenshot(person.page, 'signin-access-code-enrol-phone');
      await Promise.all([phone.context.close(), person.context.close()]);
    },
    TIMEOUT_MS,
  );
});
