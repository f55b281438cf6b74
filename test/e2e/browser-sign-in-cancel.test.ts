import type { Page } from 'playwright-core';
import { beforeAll, describe, expect, it } from 'vitest';

import { ACR_MFA } from '../../src/domain/authentication.ts';
import { browserSkipReason, screenshot, useServerAndBrowser } from '../helpers/browser.ts';
import { createTestClock } from '../helpers/clock.ts';
import { authorizationRequest, discoverRp, type RelyingParty } from '../helpers/rp.ts';
import { seedClient, seedUser, type Seeded } from '../helpers/seed.ts';

const skip = browserSkipReason() !== null;
const VIEWPORTS = { desktop: { width: 1280, height: 800 }, phone: { width: 390, height: 800 } } as const;

/**
 * Issue 8 "Screens": "Cancel" on the account sign-in (and its step-up) goes back with a calm
 * notice, and enrolment asked for by an application names that application.
 */
describe.skipIf(skip)('issue 8: cancelled sign-in and app-named enrolment in real Chromium', () => {
  const clock = createTestClock(Date.now() - 3_600_000);
  const suite = useServerAndBrowser('sqlite', { clock });
  let rp: RelyingParty;
  let seeded: Seeded;

  beforeAll(async () => {
    rp = await discoverRp(suite.server.issuer, await seedClient(suite.server.app));
    seeded = await seedUser(suite.server.app, { email: 'grace@example.com', slug: 'hopper' });
  });

  async function newPage(viewport: { width: number; height: number }): Promise<Page> {
    const page = await (await suite.browser.newContext({ viewport })).newPage();
    page.setDefaultTimeout(10_000);
    return page;
  }

  async function signInToAccount(page: Page) {
    await page.goto(`${suite.server.issuer}/account`);
    await page.getByLabel('Email').fill(seeded.user.email);
    await page.getByLabel('Password').fill(seeded.password);
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.waitForURL(`${suite.server.issuer}/account`);
  }

  for (const [name, viewport] of Object.entries(VIEWPORTS)) {
    it(`cancelling a step-up goes back to My Account with a calm notice (${name})`, async () => {
      const page = await newPage(viewport);
      await signInToAccount(page);
      clock.advance(301_000);
      await page.goto(`${suite.server.issuer}/account/password`);
      await page.getByRole('heading', { name: "Confirm it's you" }).waitFor();
      await page.getByRole('button', { name: /^Cancel and return to/ }).click();
      await page.waitForURL(`${suite.server.issuer}/account?signin=cancelled`);
      await expect(page.getByRole('status').first().innerText()).resolves.toBe(
        'Sign-in was cancelled. Nothing was changed.',
      );
      await page.getByRole('heading', { name: 'Your account' }).waitFor();
      await screenshot(page, `sign-in-cancelled-step-up-${name}`);
      await page.context().close();
    });

    it(`cancelling the first sign-in says so and offers to sign in again (${name})`, async () => {
      const page = await newPage(viewport);
      await page.goto(`${suite.server.issuer}/account/sessions`);
      await page.getByRole('button', { name: /^Cancel and return to/ }).click();
      await page.getByRole('heading', { name: 'Sign-in cancelled' }).waitFor();
      expect(await page.title()).toBe('Sign-in cancelled · Twofold');
      // A reload shows the same page: the spent callback is not replayed.
      await page.reload();
      await expect(page.getByRole('status').innerText()).resolves.toBe('Sign-in was cancelled. Nothing was changed.');
      await screenshot(page, `sign-in-cancelled-${name}`);
      await page.getByRole('link', { name: 'Sign in to your account' }).click();
      await page.getByRole('heading', { name: 'Sign in' }).waitFor();
      await page.context().close();
    });

    it(`enrolment an application asked for names the application (${name})`, async () => {
      const page = await newPage(viewport);
      await page.goto((await authorizationRequest(rp, { acr_values: ACR_MFA })).url.href);
      await page.getByLabel('Email').fill(seeded.user.email);
      await page.getByLabel('Password').fill(seeded.password);
      await page.getByRole('button', { name: 'Continue' }).click();
      await page.getByRole('heading', { name: 'Set up two-step verification' }).waitFor();
      expect(await page.locator('p.lead').innerText()).toBe(
        'Example App asks you to confirm sign-ins with a second step. Choose how you want to do it.',
      );
      await screenshot(page, `enrol-asked-by-app-${name}`);
      await page.context().close();
    });
  }
});
