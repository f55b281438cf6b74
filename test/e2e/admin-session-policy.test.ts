import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { Browser, createAccountDriver, type Member } from '../helpers/account-driver.ts';
import { readForm } from '../helpers/agent.ts';
import { createTestClock } from '../helpers/clock.ts';
import { PASSWORD } from '../helpers/seed.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

const LOGO = 'https://cdn.acme.example/brand/logo.svg';

/**
 * Console → Security, sessions and branding (issue 9): session lifetimes, password expiry and the
 * logo, each checked and saved behind a fresh sign-in; the logo then heads the organization's pages,
 * with the CSP widened by its origin alone. The clock starts an hour back so that oidc-provider
 * agrees a sign-in is stale (see admin-console.test.ts).
 */
describe('session, password and logo settings', () => {
  const clock = createTestClock(Date.now() - 3_600_000);
  let server: TestServer;
  const driver = createAccountDriver({ server: () => server, clock });
  const { page, open, post, redirect, withFactors, signIn, authenticate } = driver;
  let admin: Member;
  let ada: Member;
  const adminBrowser = new Browser();

  const acme = async () => (await server.app.stores.organizations.findOrganizationBySlug('acme'))!;

  beforeAll(async () => {
    server = await startTestServer('sqlite', { clock });
    ada = await driver.member('ada@acme.example');
    const org = await acme();
    const user = await server.app.services.accounts.createUser(org, {
      email: 'grace@acme.example',
      password: PASSWORD,
      role: 'admin',
    });
    admin = { seeded: { org, user, password: PASSWORD }, password: PASSWORD, secret: null, lastStep: 0 };
    await withFactors(admin);
    await withFactors(ada);
    await signIn(adminBrowser, admin);
  });
  afterAll(async () => server?.close());

  it('shows the AAL2 defaults, and password expiry off with why', async () => {
    const html = await page(adminBrowser, '/admin/security');
    expect(html).toMatch(/id="sessionMaxHours"[^>]*value="12"/);
    expect(html).toMatch(/id="sessionIdleMinutes"[^>]*value="30"/);
    expect(html).toMatch(/id="expiresAfterDays"(?![^>]*value=)[^>]*>/);
    expect(html).toContain('as NIST SP 800-63B advises');
  });

  it('refuses lifetimes out of range, an idle time longer than the session and a short expiry, next to each field', async () => {
    const cases: [Record<string, string>, string, RegExp][] = [
      [
        { sessionMaxHours: '0', sessionIdleMinutes: '30', expiresAfterDays: '' },
        'sessionMaxHours',
        /Use 1 to 720 hours/,
      ],
      [{ sessionMaxHours: '721', sessionIdleMinutes: '30', expiresAfterDays: '' }, 'sessionMaxHours', /Use 1 to 720/],
      [{ sessionMaxHours: 'ten', sessionIdleMinutes: '30', expiresAfterDays: '' }, 'sessionMaxHours', /Use 1 to 720/],
      [
        { sessionMaxHours: '12', sessionIdleMinutes: '4', expiresAfterDays: '' },
        'sessionIdleMinutes',
        /Use at least 5 minutes/,
      ],
      [
        { sessionMaxHours: '1', sessionIdleMinutes: '61', expiresAfterDays: '' },
        'sessionIdleMinutes',
        /Use at most 60 minutes/,
      ],
      [
        { sessionMaxHours: '12', sessionIdleMinutes: '30', expiresAfterDays: '7' },
        'expiresAfterDays',
        /Use 30 to 3650/,
      ],
      [
        { sessionMaxHours: '12', sessionIdleMinutes: '30', expiresAfterDays: '-1' },
        'expiresAfterDays',
        /Use 30 to 3650/,
      ],
    ];
    for (const [form, field, message] of cases) {
      const refused = await post(adminBrowser, '/admin/security/sessions', form);
      expect(refused.status, JSON.stringify(form)).toBe(400);
      const html = await refused.text();
      expect(html).toMatch(new RegExp(`id="${field}-error" role="alert">${message.source}`));
      // What was typed is shown again, to correct.
      expect(html).toMatch(new RegExp(`id="${field}"[^>]*value="${form[field]}"`));
    }
    expect(await acme()).toMatchObject({ sessionMaxHours: 12, sessionIdleMinutes: 30, passwordMaxAgeDays: null });
  });

  it('saves lifetimes and an expiry, and turns expiry off again with an empty field', async () => {
    const saved = await post(adminBrowser, '/admin/security/sessions', {
      sessionMaxHours: '8',
      sessionIdleMinutes: '15',
      expiresAfterDays: '365',
    });
    expect(redirect(saved)).toBe('303 /admin/security?done=settings');
    expect(await acme()).toMatchObject({ sessionMaxHours: 8, sessionIdleMinutes: 15, passwordMaxAgeDays: 365 });
    await post(adminBrowser, '/admin/security/sessions', {
      sessionMaxHours: '12',
      sessionIdleMinutes: '30',
      expiresAfterDays: '',
    });
    expect((await acme()).passwordMaxAgeDays).toBeNull();
  });

  it('refuses a logo that is not a plain https address', async () => {
    const bad = [
      'http://cdn.acme.example/logo.png',
      'javascript:alert(1)',
      'https://user:secret@cdn.acme.example/logo.png',
      'https://cdn.acme.example;img-src *;/logo.png',
      'https://a%3Bb.example/logo.png',
      `https://cdn.acme.example/${'x'.repeat(2100)}.png`,
    ];
    for (const logoUrl of bad) {
      const refused = await post(adminBrowser, '/admin/security/logo', { logoUrl });
      expect(refused.status, logoUrl).toBe(400);
      expect(await refused.text()).toMatch(/id="logoUrl-error" role="alert">(Enter an address|Use an address)/);
    }
    expect((await acme()).logoUrl).toBeNull();
  });

  it("heads the organization's pages with its name and logo, the CSP allowing that one image origin", async () => {
    expect(redirect(await post(adminBrowser, '/admin/security/logo', { logoUrl: LOGO }))).toBe(
      '303 /admin/security?done=settings',
    );
    const console = await open(adminBrowser, '/admin/security');
    const html = await console.response.text();
    expect(html).toContain(`<img class="brand-logo" src="${LOGO}" alt="Acme Corp logo" height="32">`);
    expect(html).toContain('<span class="brand-name">Acme Corp</span>');
    const csp = console.response.headers.get('content-security-policy')!;
    expect(csp).toContain("img-src 'self' data: https://cdn.acme.example;");

    // A member's sign-in: nothing is known of them on the first page, their organization from the second on.
    const browser = new Browser();
    const login = await open(browser, '/account');
    expect(await login.response.clone().text()).toContain('<span class="brand-name">Twofold</span>');
    expect(login.response.headers.get('content-security-policy')).toContain("img-src 'self' data:;");
    const { page: account } = await authenticate(browser, ada, login);
    expect(account.url.pathname).toBe('/account');
    expect(await account.response.text()).toContain(`<img class="brand-logo" src="${LOGO}" alt="Acme Corp logo"`);
  });

  it('shows the organization on the second step of sign-in', async () => {
    const browser = new Browser();
    const start = await open(browser, '/account');
    const form = readForm(await start.response.text(), /\/login$/);
    const target = new URL(form.action, start.url);
    const verify = await browser.follow(
      await browser.request(target, { form: { _csrf: form.csrf, email: ada.seeded.user.email, password: PASSWORD } }),
      target,
    );
    expect(verify.url.pathname).toMatch(/\/verify$/);
    const html = await verify.response.text();
    expect(html).toContain('<span class="brand-name">Acme Corp</span>');
    expect(verify.response.headers.get('content-security-policy')).toContain('https://cdn.acme.example');
  });

  // The otpauth URI itself is read from the QR code in browser-factors.test.ts and in the unit tests.
  it('tells a person setting up an authenticator app that it will list the organization', async () => {
    const browser = new Browser();
    await signIn(browser, ada);
    const begun = await post(browser, '/account/two-factor/method/totp', { label: 'Tablet' });
    expect(await begun.text()).toContain('Your app will list it as <strong>Acme Corp</strong> (ada@acme.example).');
  });

  it('asks for a fresh sign-in before a change, then makes it when the administrator comes back', async () => {
    clock.advance(301_000);
    const stale = await post(adminBrowser, '/admin/security/sessions', {
      sessionMaxHours: '10',
      sessionIdleMinutes: '20',
      expiresAfterDays: '',
    });
    expect(redirect(stale)).toMatch(/^303 \/account\/login\?fresh=1&resume=[A-Za-z0-9_-]{22}$/);
    expect((await acme()).sessionMaxHours).toBe(12);
    const { page: resumed } = await authenticate(
      adminBrowser,
      admin,
      await open(adminBrowser, stale.headers.get('location')!),
    );
    expect(resumed.url.pathname).toMatch(/^\/account\/resume\//);
    const html = await resumed.response.text();
    const fields = Object.fromEntries(
      [...html.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)].map((m) => [m[1]!, m[2]!]),
    );
    expect(/<form[^>]*action="([^"]+)"/.exec(html)![1]).toBe('/admin/security/sessions');
    const done = await adminBrowser.request(driver.url('/admin/security/sessions'), { form: fields });
    expect(redirect(done)).toBe('303 /admin/security?done=settings');
    expect(await acme()).toMatchObject({ sessionMaxHours: 10, sessionIdleMinutes: 20 });
  });

  it('is for administrators only', async () => {
    const browser = new Browser();
    await signIn(browser, ada);
    expect((await post(browser, '/admin/security/logo', { logoUrl: '' })).status).toBe(403);
    expect((await post(browser, '/admin/security/sessions', { sessionMaxHours: '1' })).status).toBe(403);
    expect((await acme()).logoUrl).toBe(LOGO);
  });
});
