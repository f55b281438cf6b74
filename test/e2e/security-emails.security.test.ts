import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { browserOn, createAccountDriver, USER_AGENTS, type Member, type Page } from '../helpers/account-driver.ts';
import { readForm } from '../helpers/agent.ts';
import { createTestClock } from '../helpers/clock.ts';
import { factorDriver } from '../helpers/factors.ts';
import { PASSWORD } from '../helpers/seed.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { smtpMail, startSmtpServer, type TestSmtpServer } from '../helpers/smtp.ts';
import { totpAt } from '../helpers/totp.ts';

const FIREFOX_ON_WINDOWS = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0';

/**
 * Security emails about what someone else may have done: a second-factor code used twice, a
 * recovery code used (and few left), and an administrator's reset or turning off of a person's
 * two-step verification; each arrives at a real SMTP server on loopback, caused through the pages.
 */
describe('security emails that warn of someone else', () => {
  const clock = createTestClock(Date.now() - 3_600_000);
  let smtp: TestSmtpServer;
  let server: TestServer;
  const driver = createAccountDriver({ server: () => server, clock });
  const { member, signIn, post, withFactors, open, redirect, person } = driver;

  beforeAll(async () => {
    smtp = await startSmtpServer();
    server = await startTestServer('sqlite', { clock, overrides: smtpMail(smtp.url) });
  });
  afterAll(async () => {
    await server?.close();
    await smtp?.close();
  });

  const eventsOf = (m: Member) => server.app.stores.audit.listAuditEvents(m.seeded.org.id, m.seeded.user.id, 100);

  /** Email and password in a fresh browser, up to the second step. */
  async function atSecondStep(
    userAgent: string,
    m: Member,
  ): Promise<{ browser: ReturnType<typeof browserOn>; at: Page }> {
    const browser = browserOn(userAgent);
    const start = await open(browser, '/account');
    const login = readForm(await start.response.text(), /\/login$/);
    const target = new URL(login.action, start.url);
    const form = { _csrf: login.csrf, email: m.seeded.user.email, password: m.password };
    const at = await browser.follow(await browser.request(target, { form }), target);
    expect(at.url.pathname).toMatch(/\/verify$/);
    return { browser, at };
  }

  /** Posts a proof of `kind` from the second step's page. */
  async function prove(step: Awaited<ReturnType<typeof atSecondStep>>, kind: string, fields: Record<string, string>) {
    const form = readForm(await step.at.response.clone().text(), /\/verify\/[a-z]+(\/challenge)?$/);
    const target = new URL(`${step.at.url.pathname}/${kind}`, step.at.url);
    return step.browser.request(target, { form: { _csrf: form.csrf, ...fields } });
  }

  it('a code replayed from another browser is refused, audited and emailed; a mistyped code is not emailed', async () => {
    const sam = await member('sam@acme.example');
    await withFactors(sam);
    await signIn(browserOn(FIREFOX_ON_WINDOWS), sam);
    const used = totpAt(sam.secret!, sam.lastStep * 30);
    const totpId = (await driver.factorsOf(sam)).find((f) => f.kind === 'totp')!.id;

    const stranger = await atSecondStep(USER_AGENTS.chromeOnWindows, sam);
    const mistyped = await prove(stranger, 'totp', { factorId: totpId, code: used === '000000' ? '111111' : '000000' });
    expect(mistyped.status).toBe(401);
    const replay = await prove(stranger, 'totp', { factorId: totpId, code: used });
    expect(replay.status).toBe(401);
    expect(await replay.text()).toContain('That code was already used');

    const events = await eventsOf(sam);
    expect(events.filter((e) => e.type === 'signin.code_replayed')).toEqual([
      expect.objectContaining({ detail: { method: 'totp', reason: 'reused' }, userAgent: USER_AGENTS.chromeOnWindows }),
    ]);
    expect(events.filter((e) => e.type === 'signin.second_factor_failed')).toHaveLength(1);

    const email = await smtp.waitFor('sam@acme.example', 'A used sign-in code was refused');
    expect(email.text).toContain('(Authenticator app) that had already been used. It was refused.');
    expect(email.text).toContain('Browser: Chrome 128 on Windows 10');
    expect(email.text).toContain(`change your password at ${server.issuer}/account/password`);
    expect(email.text).not.toContain(used);
    await server.app.services.notices.settled();
    expect(smtp.to('sam@acme.example').filter((e) => e.subject === email.subject)).toHaveLength(1);
  });

  it('a recovery code used at sign-in is emailed with how many are left, and asks for new ones when few are', async () => {
    const tess = await member('tess@acme.example');
    await withFactors(tess);
    const codes = await server.app.factors.recovery.regenerate(person(tess));
    for (const code of codes.slice(0, 7))
      expect((await factorDriver(server.app).verifyRecoveryCode(person(tess), code)).ok).toBe(true);

    const step = await atSecondStep(FIREFOX_ON_WINDOWS, tess);
    // The sign-in stops at the page that says how many codes are left (issue 8).
    const proven = await prove(step, 'recovery', { code: codes[7]! });
    expect(proven.status).toBe(200);
    expect(await proven.text()).toContain('You have only 2 recovery codes left.');
    const event = (await eventsOf(tess)).find((e) => e.type === 'recovery_code.used' && e.userAgent !== null)!;
    expect(event.detail).toEqual({ remaining: 2 });

    const email = await smtp.waitFor('tess@acme.example', 'A recovery code was used to sign in to your account', {
      containing: 'only 2 recovery codes left',
    });
    expect(email.text).toContain('Browser: Firefox 128 on Windows 10');
    expect(email.text).toContain(`Make a new set now at ${server.issuer}/account/two-factor`);
    for (const code of codes) expect(email.text).not.toContain(code);
  });

  describe('an administrator', () => {
    let admin: Member;
    const adminBrowser = browserOn(FIREFOX_ON_WINDOWS);
    beforeAll(async () => {
      const org = (await server.app.stores.organizations.findOrganizationBySlug('acme'))!;
      const user = await server.app.services.accounts.createUser(org, {
        email: 'grace@acme.example',
        password: PASSWORD,
        role: 'admin',
      });
      admin = { seeded: { org, user, password: PASSWORD }, password: PASSWORD, secret: null, lastStep: 0 };
      await withFactors(admin);
      await signIn(adminBrowser, admin);
    });

    it('resetting a person’s two-step verification emails them once, naming the administrator', async () => {
      const uma = await member('uma@acme.example');
      await withFactors(uma);
      await server.app.services.appPasswords.create(
        person(uma),
        uma.seeded.org,
        true,
        { name: 'Mail', scopes: ['imap'] },
        '127.0.0.1',
      );
      const reset = await post(adminBrowser, `/admin/people/${uma.seeded.user.id}/reset-tfa`);
      expect(redirect(reset)).toBe(`303 /admin/people/${uma.seeded.user.id}?done=reset`);

      const email = await smtp.waitFor('uma@acme.example', 'Your two-step verification was reset');
      expect(email.text).toContain(
        'An administrator (grace@acme.example) reset two-step verification for your account.',
      );
      expect(email.text).toContain('signed out everywhere; your app passwords were revoked.');
      expect(email.text).toContain('contact your administrator (grace@acme.example)');
      expect(email.text).toContain('Browser: Firefox 128 on Windows 10');
      await server.app.services.notices.settled();
      expect(smtp.to('uma@acme.example').filter((e) => e.subject === email.subject)).toHaveLength(1);
      expect((await eventsOf(uma)).find((e) => e.type === 'tfa.reset')).toMatchObject({ actor: 'grace@acme.example' });
    });

    it('turning off a person’s own two-step verification emails them, naming the administrator', async () => {
      const vic = await member('vic@acme.example');
      await withFactors(vic);
      const off = await post(adminBrowser, `/admin/people/${vic.seeded.user.id}/turn-off-tfa`);
      expect(redirect(off)).toBe(`303 /admin/people/${vic.seeded.user.id}?done=off`);
      const email = await smtp.waitFor('vic@acme.example', 'An administrator turned off your two-step verification');
      expect(email.text).toContain('An administrator (grace@acme.example) turned off two-step verification');
      expect((await eventsOf(vic)).find((e) => e.type === 'tfa.disabled')).toMatchObject({
        actor: 'grace@acme.example',
      });
    });
  });

  it('a password reset (recorded by the reset flow) is emailed', async () => {
    const wes = await member('wes@acme.example');
    await server.app.services.audit.record({
      type: 'password.reset',
      orgId: wes.seeded.org.id,
      userId: wes.seeded.user.id,
    });
    const email = await smtp.waitFor('wes@acme.example', 'Your password was reset');
    expect(email.text).toContain('The password of your account was reset with a link sent to this address.');
  });
});
