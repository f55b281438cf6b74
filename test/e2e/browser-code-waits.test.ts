import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { browserSkipReason, screenshot, useServerAndBrowser } from '../helpers/browser.ts';
import { factorDriver } from '../helpers/factors.ts';
import { authorizationRequest, discoverRp, type RelyingParty } from '../helpers/rp.ts';
import { enrolTotp, seedClient, seedUser, type Seeded } from '../helpers/seed.ts';
import { createTestClock } from '../helpers/clock.ts';
import { readOutbox, totpAt } from '../helpers/totp.ts';

const skip = browserSkipReason() !== null;

/** Issue 8 "Screens": waits people can see, and a way on when no more codes can be sent. */
describe.skipIf(skip)('issue 8: code waits and resends in real Chromium', () => {
  const clock = createTestClock(Date.now() - 3_600_000);
  const suite = useServerAndBrowser('sqlite', { clock });
  let rp: RelyingParty;
  let callback: Server;

  beforeAll(async () => {
    callback = createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end('Signed in'));
    await new Promise<void>((resolve) => callback.listen(0, '127.0.0.1', resolve));
    const redirectUri = `http://127.0.0.1:${(callback.address() as AddressInfo).port}/callback`;
    rp = await discoverRp(suite.server.issuer, await seedClient(suite.server.app, { redirectUri, firstParty: true }));
  });
  afterAll(async () => {
    callback?.close();
  });

  const personOf = (seeded: Seeded) => ({ orgId: seeded.org.id, userId: seeded.user.id, email: seeded.user.email });
  const outbox = () => readOutbox(suite.server.environment.config.dataDir);

  /** A page whose timers the test moves (Playwright's clock), signed in up to the second step. */
  async function passwordStep(seeded: Seeded): Promise<Page> {
    const page = await (await suite.browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
    page.setDefaultTimeout(10_000);
    await page.clock.install();
    await page.goto((await authorizationRequest(rp)).url.href);
    await page.getByLabel('Email').fill(seeded.user.email);
    await page.getByLabel('Password').fill(seeded.password);
    await page.getByRole('button', { name: 'Continue' }).click();
    return page;
  }

  /** Desktop and phone widths of the same page. */
  async function shoot(page: Page, name: string) {
    await screenshot(page, `${name}-desktop`);
    await page.setViewportSize({ width: 390, height: 844 });
    await screenshot(page, `${name}-phone`);
    await page.setViewportSize({ width: 1280, height: 900 });
  }

  async function enterCode(page: Page, code: string) {
    await page.getByLabel(/6-digit code/).fill(code);
    await page.getByRole('button', { name: 'Verify' }).click();
  }

  it('says a right code typed during a throttle wait was not checked, counts the wait down, then takes it', async () => {
    const seeded = await seedUser(suite.server.app, { slug: 'waits', email: 'ada@waits.example' });
    const { secret } = await enrolTotp(suite.server.app, seeded, clock.now());
    const page = await passwordStep(seeded);
    // Five free wrong codes, then two more after their delays: the next try must wait 2^2 = 4 seconds.
    for (let i = 0; i < 7; i += 1) {
      clock.advance(20_000);
      await enterCode(page, '000000');
      await page.getByText('That code is not right.').waitFor();
    }
    await enterCode(page, totpAt(secret, clock.now() / 1000));
    await page
      .getByRole('alert')
      .getByText('Too many wrong tries. Your code was not checked: wait 4 seconds, then enter it again.')
      .waitFor();
    const countdown = page.getByRole('timer');
    expect(await countdown.textContent()).toBe('You can enter your code again in 4 seconds.');
    await page.clock.runFor(2_000);
    expect(await countdown.textContent()).toBe('You can enter your code again in 2 seconds.');
    await shoot(page, 'code-wait-countdown');
    await page.clock.runFor(2_000);
    await page.getByRole('status').getByText('You can enter your code now.').waitFor();

    clock.advance(4_000);
    await enterCode(page, totpAt(secret, clock.now() / 1000));
    await page.waitForURL((url) => url.pathname === '/callback');
  });

  /** A person with a confirmed text-message number and an authenticator app, at the text-message step. */
  async function textMessageStep(slug: string) {
    const seeded = await seedUser(suite.server.app, { slug, email: `ada@${slug}.example` });
    const person = personOf(seeded);
    const phone = factorDriver(suite.server.app);
    const { factorId } = await phone.beginPhone(person, 'sms', '+442079460456', '', 'seed', '203.0.113.9');
    expect((await phone.confirmPhone(person, 'sms', factorId, outbox().at(-1)!.code, 'seed')).ok).toBe(true);
    await enrolTotp(suite.server.app, seeded, clock.now());
    const page = await passwordStep(seeded);
    const verify = new URL(page.url());
    await page.goto(`${verify.origin}${verify.pathname}?method=${factorId}`);
    return { page, sendMore: () => phone.sendCode(person, 'sms', factorId, 'elsewhere', '203.0.113.9') };
  }

  it('holds "Send a new code" back 30 seconds in the browser, then offers it', async () => {
    const { page } = await textMessageStep('resend');
    await page.getByRole('button', { name: 'Text me a code' }).click();
    await page.getByText('We sent a code to').waitFor();
    const resend = page.locator('button', { hasText: 'Send a new code' });
    expect(await resend.isDisabled()).toBe(true);
    expect(await resend.textContent()).toBe('Send a new code (in 30 seconds)');
    await shoot(page, 'code-resend-countdown');
    await page.clock.runFor(30_000);
    expect(await resend.isEnabled()).toBe(true);
    expect(await resend.textContent()).toBe('Send a new code');
  });

  it('after the send limit, offers another method and keeps the field for a code already received', async () => {
    const { page, sendMore } = await textMessageStep('limits');
    await page.getByRole('button', { name: 'Text me a code' }).click();
    await page.getByText('We sent a code to').waitFor();
    const received = outbox().at(-1)!.code;
    // The rest of the hour's budget (five codes an account, the enrolment's included) goes elsewhere.
    for (let i = 0; i < 3; i += 1) expect(await sendMore()).toMatchObject({ ok: true });
    await page.goto(page.url().replace('&sent=1', ''));
    await page.getByRole('button', { name: 'Text me a code' }).click();
    await page.getByRole('alert').getByText('Too many codes were sent. Wait an hour, or use another method.').waitFor();
    expect(await page.getByRole('button', { name: /Text me a code|Send a new code/ }).count()).toBe(0);
    await page.getByRole('link', { name: /Authenticator app/ }).waitFor({ state: 'visible' });
    await shoot(page, 'code-send-limit');
    await enterCode(page, received);
    await page.waitForURL((url) => url.pathname === '/callback');
  });

  it('says a password typed during a throttle wait was not checked, and counts the wait down', async () => {
    const seeded = await seedUser(suite.server.app, { slug: 'password-waits', email: 'ada@password-waits.example' });
    const page = await (await suite.browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
    page.setDefaultTimeout(10_000);
    await page.clock.install();
    await page.goto((await authorizationRequest(rp)).url.href);
    const signIn = async (password: string) => {
      if (await page.getByLabel('Email').isEditable()) await page.getByLabel('Email').fill(seeded.user.email);
      await page.getByLabel('Password').fill(password);
      await page.getByRole('button', { name: 'Continue' }).click();
    };
    for (let i = 0; i < 7; i += 1) {
      clock.advance(20_000);
      await signIn('not the password');
      await page.getByText('The email or password is incorrect.').waitFor();
    }
    await signIn(seeded.password);
    await page
      .getByRole('alert')
      .getByText('Too many failed attempts. Your password was not checked: wait 4 seconds, then enter it again.')
      .waitFor();
    expect(await page.getByRole('timer').textContent()).toBe('You can enter your password again in 4 seconds.');
    await shoot(page, 'password-wait-countdown');
    await page.clock.runFor(4_000);
    await page.getByRole('status').getByText('You can enter your password now.').waitFor();
    clock.advance(4_000);
    await signIn(seeded.password);
    await page.waitForURL((url) => url.pathname === '/callback');
  });

  it('sends a new enrolment code to the same number from the confirmation page, after its countdown', async () => {
    const seeded = await seedUser(suite.server.app, {
      slug: 'confirm',
      email: 'ada@confirm.example',
      enforceTfa: true,
    });
    const page = await passwordStep(seeded);
    await page.getByLabel('Mobile number').fill('+44 20 7946 0789');
    await page.getByRole('button', { name: 'Text a code to this number' }).click();
    await page.getByRole('heading', { name: 'Confirm your phone number' }).waitFor();
    const first = outbox().at(-1)!;
    const before = outbox().length;
    const resend = page.locator('button', { hasText: 'Send a new code' });
    expect(await resend.isDisabled()).toBe(true);
    await shoot(page, 'enrol-phone-confirm-resend');
    await page.clock.runFor(30_000);
    await resend.click();
    await page.getByRole('heading', { name: 'Confirm your phone number' }).waitFor();
    const second = outbox().at(-1)!;
    expect(second).toMatchObject({ to: '+442079460789', channel: 'sms' });
    expect(outbox().length).toBe(before + 1);

    // The new code confirms the number; the earlier one belonged to the setup it replaced.
    await page.getByLabel('6-digit code').fill(first.code);
    await page.getByRole('button', { name: 'Confirm and continue' }).click();
    await page.getByRole('alert').getByText('That code is not right.').waitFor();
    await page.getByLabel('6-digit code').fill(second.code);
    await page.getByRole('button', { name: 'Confirm and continue' }).click();
    await page.getByRole('button', { name: 'I have saved my codes, continue' }).click();
    await page.waitForURL((url) => url.pathname === '/callback');
  });
});
