import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { Browser, createAccountDriver, type Member } from '../helpers/account-driver.ts';
import { readForm } from '../helpers/agent.ts';
import { createTestClock } from '../helpers/clock.ts';
import { linkDriver } from '../helpers/links.ts';
import { skipReason } from '../helpers/backends.ts';
import { startTestServer, type Backend, type TestServer } from '../helpers/server.ts';

const scaleOutSkip = skipReason('postgres') ?? skipReason('redis');

const NEW_PASSWORD = 'marble kettle lantern orbit';

/**
 * A password-reset link proves only that someone reads the person's email. It must never stand in
 * for the second factor (NIST SP 800-63B §4.2.1): whoever holds the link proves the factor before
 * the new-password form, in the same browser, before any session or token exists; and a browser
 * trusted for the second step of sign-in skips nothing here.
 */
describe.each<Backend>(['sqlite', 'postgres+redis'])(
  'a password reset link never bypasses the second factor on %s',
  (backend) => {
    const skip = backend === 'postgres+redis' && scaleOutSkip !== null;
    const clock = createTestClock();
    let server: TestServer;
    const driver = createAccountDriver({ server: () => server, clock });
    const links = linkDriver(() => server);
    const { member, withFactors, signIn, authenticate, open, nextCode, factorsOf, redirect } = driver;

    beforeAll(async () => {
      if (!skip) server = await startTestServer(backend, { clock });
    });
    afterAll(async () => server?.close());

    const passwordHashOf = async (m: Member) =>
      (await server.app.stores.users.findUserByEmail(m.seeded.user.email))!.passwordHash;

    /** Asks for a link and opens it in `b`; returns the page the link leads to. */
    async function openResetLink(b: Browser, m: Member) {
      const sent = (await links.emails()).filter((e) => e.to === m.seeded.user.email).length;
      expect((await links.requestLink(b, m.seeded.user.email)).status).toBe(200);
      const link = links.linkIn(await links.emailTo(m.seeded.user.email, sent + 1), 'reset-password');
      return { link, page: await links.open(b, link) };
    }

    /** Proves the authenticator app on the reset's verification page. */
    async function proveTotp(b: Browser, m: Member) {
      const totpId = (await factorsOf(m)).find((f) => f.active && f.kind === 'totp')!.id;
      const page = await links.open(b, '/reset-password/verify');
      const form = readForm(await page.response.text(), /\/reset-password\/verify\/[a-z]+$/);
      const target = links.url('/reset-password/verify/totp');
      return b.follow(
        await b.request(target, { form: { _csrf: form.csrf, factorId: totpId, code: nextCode(m) } }),
        target,
      );
    }

    it.skipIf(skip)(
      'asks for the authenticator app first, in a browser trusted for sign-in too, and no session exists before',
      async () => {
        const ada = await member('ada@example.com');
        await withFactors(ada);
        const trusted = new Browser();
        await signIn(trusted, ada, true);
        // A browser that holds only the trusted-browser cookie: signed in nowhere, trusted for the second step.
        const b = new Browser();
        b.cookies.push(...trusted.cookies.filter((c) => c.name === 'twofold.trusted'));
        const before = await passwordHashOf(ada);

        const { link, page } = await openResetLink(b, ada);
        expect(page.url.pathname).toBe('/reset-password/verify');
        const html = await page.response.text();
        expect(html).toContain("Confirm it's you");
        expect(html).toContain('6-digit code from your authenticator app');
        expect(html).not.toContain('Trust this browser');
        expect(html).not.toContain(link.pathname.split('/').at(-1));

        // The new-password form cannot be posted past the factor.
        const form = readForm(html, /\/reset-password\/verify\/[a-z]+$/);
        const skipped = await b.request(links.url('/reset-password'), {
          form: { _csrf: form.csrf, password: NEW_PASSWORD },
        });
        expect(redirect(skipped)).toBe('303 /reset-password/verify');
        expect(await passwordHashOf(ada)).toBe(before);
        expect((await links.open(b, '/reset-password')).url.pathname).toBe('/reset-password/verify');

        const proven = await proveTotp(b, ada);
        expect(proven.url.pathname).toBe('/reset-password');
        expect(await proven.response.text()).toContain('Choose a new password');
        // Proving the factor here signed no one in: the account still asks for a sign-in.
        expect((await open(b, '/account')).url.pathname).toMatch(/^\/interaction\//);

        const done = await links.submit(b, await links.open(b, '/reset-password'), /^\/reset-password$/, {
          password: NEW_PASSWORD,
        });
        expect(await done.response.text()).toContain('Your password was changed');
        expect(await passwordHashOf(ada)).not.toBe(before);
        // The trusted browser is trusted no more: the next sign-in asks for the second step again.
        ada.password = NEW_PASSWORD;
        const { steps } = await authenticate(b, ada, await open(b, '/account'));
        expect(steps).toEqual(['password', 'second-factor']);
      },
    );

    it.skipIf(skip)('accepts a recovery code as the second factor, and spends it', async () => {
      const bob = await member('bob@example.com');
      await withFactors(bob);
      const person = driver.person(bob);
      const codes = await server.app.factors.recovery.regenerate(person);
      const b = new Browser();
      expect((await openResetLink(b, bob)).page.url.pathname).toBe('/reset-password/verify');
      const page = await links.open(b, '/reset-password/verify?method=recovery');
      expect(await page.response.clone().text()).toContain('Recovery code');
      const proven = await links.submit(b, page, /\/reset-password\/verify\/recovery$/, { code: codes[0]! });
      expect(proven.url.pathname).toBe('/reset-password');
      expect(await server.app.factors.recovery.remaining(person)).toBe(9);
      const done = await links.submit(b, proven, /^\/reset-password$/, { password: NEW_PASSWORD });
      expect(await done.response.text()).toContain('Your password was changed');
    });

    it.skipIf(skip)('sends a text-message code through the same pages when the person picks their phone', async () => {
      const cy = await member('cy@example.com');
      await withFactors(cy, '+14155550199');
      const sms = (await factorsOf(cy)).find((f) => f.kind === 'sms')!;
      const b = new Browser();
      expect((await openResetLink(b, cy)).page.url.pathname).toBe('/reset-password/verify');
      const choose = await links.open(b, `/reset-password/verify?method=${sms.id}`);
      const challenged = await links.submit(b, choose, /\/reset-password\/verify\/sms\/challenge$/, {
        factorId: sms.id,
      });
      expect(await challenged.response.clone().text()).toContain('We sent a code to');
      const code = driver.lastMessage().code;
      const proven = await links.submit(b, challenged, /\/reset-password\/verify\/sms$/, { factorId: sms.id, code });
      expect(proven.url.pathname).toBe('/reset-password');
    });

    it.skipIf(skip)('goes straight to the new password for a person without a second factor', async () => {
      const dee = await member('dee@example.com');
      const b = new Browser();
      const { page } = await openResetLink(b, dee);
      expect(page.url.pathname).toBe('/reset-password');
      expect(await page.response.text()).toContain('Choose a new password');
      // Nothing to prove: the verification page sends the browser back to the form.
      expect((await links.open(b, '/reset-password/verify')).url.pathname).toBe('/reset-password');
    });

    it.skipIf(skip)(
      'credits a proven factor to the browser that proved it, not to another holder of the same link',
      async () => {
        const eve = await member('eve@example.com');
        await withFactors(eve);
        const mine = new Browser();
        const { link } = await openResetLink(mine, eve);
        await proveTotp(mine, eve);
        const theirs = new Browser();
        expect((await links.open(theirs, link)).url.pathname).toBe('/reset-password/verify');
      },
    );

    it.skipIf(skip)('counts wrong codes against the same attempt budget as sign-in', async () => {
      const fay = await member('fay@example.com');
      await withFactors(fay);
      const totpId = (await factorsOf(fay)).find((f) => f.kind === 'totp')!.id;
      const b = new Browser();
      const { page } = await openResetLink(b, fay);
      const form = readForm(await page.response.text(), /\/reset-password\/verify\/[a-z]+$/);
      const target = links.url('/reset-password/verify/totp');
      const statuses: number[] = [];
      for (let i = 0; i < 6; i++) {
        const answer = await b.request(target, { form: { _csrf: form.csrf, factorId: totpId, code: '000000' } });
        statuses.push(answer.status);
      }
      expect(statuses.slice(0, 5).every((s) => s === 401 || s === 400)).toBe(true);
      expect(statuses[5]).toBe(429);
      const events = await server.app.services.people.describe(fay.seeded.org, fay.seeded.user.id);
      expect(events.events.map((e) => e.type)).toContain('password.reset_second_factor_failed');
    });
  },
);
