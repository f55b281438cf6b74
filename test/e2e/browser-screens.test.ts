import type { Page } from 'playwright-core';
import { beforeAll, describe, expect, it } from 'vitest';

import { audit } from '../helpers/axe.ts';
import { browserSkipReason, screenshot, useServerAndBrowser } from '../helpers/browser.ts';
import { factorDriver } from '../helpers/factors.ts';
import { authorizationRequest, discoverRp, type RelyingParty } from '../helpers/rp.ts';
import { enrolTotp, seedClient, seedUser, type Seeded } from '../helpers/seed.ts';
import { createTestClock } from '../helpers/clock.ts';
import { readOutbox, totpAt } from '../helpers/totp.ts';

const skip = browserSkipReason() !== null;

/** WCAG 2.x relative luminance contrast of an `rgb(r, g, b)` colour against white. */
function contrastWithWhite(css: string): number {
  const [r, g, b] = (css.match(/\d+(\.\d+)?/g) ?? [])
    .slice(0, 3)
    .map(Number)
    .map((v) => v / 255);
  const lin = (v: number) => (v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4);
  const luminance = 0.2126 * lin(r!) + 0.7152 * lin(g!) + 0.0722 * lin(b!);
  return 1.05 / (luminance + 0.05);
}

/** Issue 8 "Screens": what people see on the error, setup, second-step and account pages. */
describe.skipIf(skip)('issue 8: screens in real Chromium', () => {
  const clock = createTestClock(Date.now() - 3_600_000);
  const suite = useServerAndBrowser('sqlite', { clock });
  let rp: RelyingParty;
  let seeded: Seeded;
  let secret: Buffer;

  beforeAll(async () => {
    rp = await discoverRp(suite.server.issuer, await seedClient(suite.server.app));
    seeded = await seedUser(suite.server.app, { email: 'ada@example.com', slug: 'analytical' });
    ({ secret } = await enrolTotp(suite.server.app, seeded, clock.now(), 'Authenticator app', { recoveryCodes: true }));
    const person = { orgId: seeded.org.id, userId: seeded.user.id, email: seeded.user.email };
    const phone = factorDriver(suite.server.app);
    const { factorId } = await phone.beginPhone(person, 'voice', '+442079460123', '', 'seed', '203.0.113.9');
    const code = readOutbox(suite.server.environment.config.dataDir).at(-1)!.code;
    expect((await phone.confirmPhone(person, 'voice', factorId, code, 'seed')).ok).toBe(true);
    clock.advance(30_000);
  });

  async function newPage(): Promise<Page> {
    const page = await (await suite.browser.newContext({ viewport: { width: 1000, height: 900 } })).newPage();
    page.setDefaultTimeout(10_000);
    return page;
  }

  async function password(page: Page) {
    await page.getByLabel('Password').fill(seeded.password);
    await page.getByRole('button', { name: 'Continue' }).click();
  }

  /** The second step opens on the preferred or last used method; this picks another one when it is not. */
  async function chooseMethod(page: Page, name: string) {
    const link = page.locator('.other-methods a', { hasText: name });
    if ((await link.count()) === 0) return;
    if (!(await link.isVisible())) await page.getByText('Use another method').click();
    await link.click();
  }

  it('shows an unknown address as a page in the layout, and the provider still answers its own routes', async () => {
    const page = await newPage();
    const response = await page.goto(`${suite.server.issuer}/no/such/page`);
    expect(response!.status()).toBe(404);
    expect(await page.title()).toBe('Page not found · Twofold');
    expect(await page.getAttribute('html', 'lang')).toBe('en');
    await page.getByRole('link', { name: 'Home page' }).waitFor();
    expect(await audit(page)).toEqual([]);
    await screenshot(page, 'screens-not-found');
    const api = await fetch(`${suite.server.issuer}/api/no-such-thing`, { headers: { accept: 'application/json' } });
    expect(api.status).toBe(404);
    expect(((await api.json()) as { error: string }).error).toBe('not_found');
    expect((await fetch(`${suite.server.issuer}/.well-known/openid-configuration`)).status).toBe(200);
    expect((await fetch(`${suite.server.issuer}/jwks`)).status).toBe(200);
    expect((await fetch(`${suite.server.issuer}/healthz`)).status).not.toBe(500);
  });

  it('tells someone with a used setup link to sign in or ask an administrator', async () => {
    const page = await newPage();
    const response = await page.goto(`${suite.server.issuer}/setup?token=${'A'.repeat(43)}`);
    expect(response!.status()).toBe(410);
    await page.getByRole('link', { name: 'Sign in to your account' }).waitFor();
    expect(await page.textContent('main')).toContain('ask an administrator');
    await screenshot(page, 'screens-setup-link-used');
  });

  it('calls rather than texts on the voice screens, and lists other methods without repeating names', async () => {
    const page = await newPage();
    await page.goto((await authorizationRequest(rp, { login_hint: seeded.user.email })).url.href);
    await password(page);
    await page.getByText('Use another method').click();
    const others = await page.locator('.other-methods li').allTextContents();
    expect(others.join('\n')).not.toMatch(/Authenticator app: Authenticator app|Voice call.*: Voice call/);
    await screenshot(page, 'screens-other-methods');
    await chooseMethod(page, 'Voice call');
    await page.getByRole('button', { name: 'Call me with a code' }).click();
    await page.getByText('We are calling your phone').waitFor();
    await page.getByRole('button', { name: 'Call me again' }).waitFor();
    expect(await page.textContent('main')).not.toContain('We sent a code');
    await screenshot(page, 'screens-voice-called');
  });

  it('focuses the first invalid field after a refused form, with a ring and borders of 3:1 or more', async () => {
    const page = await newPage();
    await page.goto((await authorizationRequest(rp)).url.href);
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.getByText('Enter your email address.').waitFor();
    await page.waitForFunction('document.activeElement && document.activeElement.id === "email"');
    const styles = (await page.evaluate(`(() => {
      const input = document.getElementById('password');
      const border = getComputedStyle(input).borderTopColor;
      const focused = getComputedStyle(document.activeElement).outlineColor;
      return { border, focused };
    })()`)) as { border: string; focused: string };
    expect(contrastWithWhite(styles.focused)).toBeGreaterThanOrEqual(3);
    expect(contrastWithWhite(styles.border)).toBeGreaterThanOrEqual(3);
    await screenshot(page, 'screens-focus-error');
  });

  it('asks before destructive changes, shows fresh methods as not used yet, and copies recovery codes', async () => {
    const context = await suite.browser.newContext({ viewport: { width: 1000, height: 900 } });
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: suite.server.issuer });
    const page = await context.newPage();
    page.setDefaultTimeout(10_000);
    await page.goto(`${suite.server.issuer}/account/two-factor`);
    await page.getByLabel('Email').fill(seeded.user.email);
    await password(page);
    await chooseMethod(page, 'Authenticator app');
    clock.advance(30_000);
    await page.getByLabel('6-digit code from your authenticator app').fill(totpAt(secret, clock.now() / 1000));
    await page.getByRole('button', { name: 'Verify' }).click();
    await page.getByRole('heading', { name: 'Your methods' }).waitFor();
    const methods = await page.locator('.items').first().innerText();
    expect(methods).not.toContain('Authenticator app Authenticator app');
    expect(methods).toContain('not used yet');
    expect(methods).not.toMatch(/never/);

    const yes = page.getByRole('button', { name: 'Yes, turn off two-step verification' });
    expect(await yes.isVisible()).toBe(false);
    await page.getByText('Turn off two-step verification', { exact: true }).last().click();
    expect(await yes.isVisible()).toBe(true);
    expect(
      await page
        .getByRole('button', { name: /Yes, remove/ })
        .first()
        .isVisible(),
    ).toBe(false);
    await screenshot(page, 'screens-confirm-turn-off');

    await page.getByText('Make new recovery codes', { exact: true }).click();
    await page.getByRole('button', { name: 'Yes, make new recovery codes' }).click();
    await page.getByRole('heading', { name: 'Save your recovery codes' }).waitFor();
    const fileName = await page.getByRole('link', { name: 'Download' }).getAttribute('download');
    expect(fileName).toMatch(/^twofold-recovery-codes-analytical-ada@example\.com-\d{4}-\d{2}-\d{2}\.txt$/);
    await page.getByRole('button', { name: 'Copy' }).click();
    await page.getByRole('button', { name: 'Copied' }).waitFor();
    const copied = String(await page.evaluate('navigator.clipboard.readText()'));
    expect(copied.split('\n')).toEqual(await page.locator('.codes li').allInnerTexts());
    // The two columns line up: row by row at the same height, each code starting at its column's edge.
    const boxes = (await page.evaluate(
      `[...document.querySelectorAll('.codes code')].map((c) => { const r = c.getBoundingClientRect(); return [Math.round(r.left), Math.round(r.top)]; })`,
    )) as [number, number][];
    expect(boxes).toHaveLength(10);
    const [left, right] = [boxes.slice(0, 5), boxes.slice(5)];
    expect(right.map(([, top]) => top)).toEqual(left.map(([, top]) => top));
    expect(new Set(left.map(([x]) => x)).size).toBe(1);
    expect(new Set(right.map(([x]) => x)).size).toBe(1);
    await screenshot(page, 'screens-recovery-codes');
    await page.setViewportSize({ width: 390, height: 844 });
    await screenshot(page, 'screens-recovery-codes-phone');
    await context.close();
  });
});
