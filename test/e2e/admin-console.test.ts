import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { Browser, createAccountDriver, type Member } from '../helpers/account-driver.ts';
import { readForm } from '../helpers/agent.ts';
import { createTestClock } from '../helpers/clock.ts';
import { PASSWORD } from '../helpers/seed.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { readOutboxEmails } from '../helpers/totp.ts';

/**
 * The admin console, driven through its pages: the directory with TFA status, a person's page,
 * reset after a lost device, turning a person's own TFA off, and the organization's enforcement,
 * every change behind a fresh sign-in; members are refused and other organizations are not found.
 * The clock starts an hour back so that oidc-provider agrees a sign-in is stale (see account.test.ts).
 */
describe('the admin console', () => {
  const clock = createTestClock(Date.now() - 3_600_000);
  let server: TestServer;
  const driver = createAccountDriver({ server: () => server, clock });
  const { page, member, redirect, withFactors, signIn, post, factorsOf, open } = driver;
  let admin: Member;
  let ada: Member;
  let bob: Member;
  let outsider: Member;
  const adminBrowser = new Browser();
  /** Bob signs in with his password alone, before the organization requires TFA. */
  const bobsFirstBrowser = new Browser();

  async function adminOf(slug: string, email: string): Promise<Member> {
    const org = (await server.app.stores.organizations.findOrganizationBySlug(slug))!;
    const user = await server.app.services.accounts.createUser(org, {
      email,
      password: PASSWORD,
      role: 'admin',
      name: 'Grace Admin',
    });
    return { seeded: { org, user, password: PASSWORD }, password: PASSWORD, secret: null, lastStep: 0 };
  }

  beforeAll(async () => {
    server = await startTestServer('sqlite', { clock });
    ada = await member('ada@acme.example');
    bob = await member('bob@acme.example');
    outsider = await member('eve@other.example', 'other');
    admin = await adminOf('acme', 'grace@acme.example');
    await withFactors(admin);
    await withFactors(ada);
    await withFactors(outsider);
    await server.app.services.appPasswords.create(
      driver.person(ada),
      ada.seeded.org,
      true,
      { name: 'Mail', scopes: ['imap'] },
      '127.0.0.1',
    );
    await signIn(adminBrowser, admin);
  });
  afterAll(async () => server?.close());

  it("lists the organization's people with their two-step status and methods, and no one else", async () => {
    const html = await page(adminBrowser, '/admin/people');
    expect(html).toContain('3 people');
    expect(html).toMatch(/ada@acme\.example[^]*On \(their choice\)[^]*Authenticator app/);
    expect(html).toMatch(/bob@acme\.example[^]*>Off</);
    expect(html).not.toContain('eve@other.example');
    expect(await page(adminBrowser, '/admin/people?q=BOB')).toContain('1 person');
    expect(await page(adminBrowser, '/admin/people?status=off')).toMatch(/1 person[^]*bob@acme\.example/);
    // Junk in the query is ignored, never a 500.
    const junk = await open(adminBrowser, '/admin/people?page=-4&status=nope&q=%25%5F');
    expect(junk.response.status).toBe(200);
  });

  it("refuses members (403) and answers another organization's person as not found (404), changing nothing", async () => {
    await signIn(bobsFirstBrowser, bob);
    expect((await open(bobsFirstBrowser, '/admin/people')).response.status).toBe(403);
    expect((await post(bobsFirstBrowser, `/admin/people/${ada.seeded.user.id}/reset-tfa`)).status).toBe(403);
    expect((await open(adminBrowser, `/admin/people/${outsider.seeded.user.id}`)).response.status).toBe(404);
    expect((await open(adminBrowser, '/admin/people/not-an-id')).response.status).toBe(404);
    expect((await post(adminBrowser, `/admin/people/${outsider.seeded.user.id}/reset-tfa`)).status).toBe(404);
    expect((await post(adminBrowser, `/admin/people/${outsider.seeded.user.id}/turn-off-tfa`)).status).toBe(404);
    expect((await factorsOf(outsider)).filter((f) => f.active)).toHaveLength(1);
    expect((await factorsOf(ada)).filter((f) => f.active)).toHaveLength(1);
  });

  it('shows a person with their methods and app passwords, and resets their TFA after a lost device', async () => {
    const detail = await page(adminBrowser, `/admin/people/${ada.seeded.user.id}`);
    expect(detail).toMatch(/<strong>Phone<\/strong>[^]*Authenticator app/);
    expect(detail).toMatch(/<strong>Mail<\/strong>/);
    const reset = await post(adminBrowser, `/admin/people/${ada.seeded.user.id}/reset-tfa`);
    expect(redirect(reset)).toBe(`303 /admin/people/${ada.seeded.user.id}?done=reset`);
    expect((await factorsOf(ada)).filter((f) => f.active)).toEqual([]);
    expect(await server.app.services.appPasswords.list(driver.person(ada))).toEqual([]);
    await server.app.services.notices.settled();
    expect(readOutboxEmails(server.environment.config.dataDir)).toContainEqual(
      expect.objectContaining({ to: 'ada@acme.example', subject: 'Your two-step verification was reset' }),
    );
    expect(await page(adminBrowser, `/admin/people/${ada.seeded.user.id}?done=reset`)).toContain(
      'Two-step verification was reset.',
    );
  });

  it("removes one of a person's methods, keeps the others and names the administrator in the email", async () => {
    const cy = await member('cy@acme.example');
    await withFactors(cy, '+442079460123');
    const methods = (await factorsOf(cy)).filter((f) => f.active);
    const phone = methods.find((f) => f.kind === 'sms')!;
    expect(await page(adminBrowser, `/admin/people/${cy.seeded.user.id}`)).toContain(
      `action="/admin/people/${cy.seeded.user.id}/methods/${phone.id}/remove"`,
    );
    const removed = await post(adminBrowser, `/admin/people/${cy.seeded.user.id}/methods/${phone.id}/remove`);
    expect(redirect(removed)).toBe(`303 /admin/people/${cy.seeded.user.id}?done=method-removed`);
    expect((await factorsOf(cy)).filter((f) => f.active).map((f) => f.kind)).toEqual(['totp']);
    await server.app.services.notices.settled();
    expect(readOutboxEmails(server.environment.config.dataDir)).toContainEqual(
      expect.objectContaining({
        to: 'cy@acme.example',
        subject: 'A two-step verification method was removed from your account',
        text: expect.stringContaining('An administrator (grace@acme.example) removed this method'),
      }),
    );
    // Another organization's person, or a method that is not the person's: not found, nothing removed.
    const [theirs] = (await factorsOf(outsider)).filter((f) => f.active);
    const elsewhere = await post(adminBrowser, `/admin/people/${outsider.seeded.user.id}/methods/${theirs!.id}/remove`);
    expect(elsewhere.status).toBe(404);
    expect((await post(adminBrowser, `/admin/people/${cy.seeded.user.id}/methods/${theirs!.id}/remove`)).status).toBe(
      404,
    );
    expect((await factorsOf(outsider)).filter((f) => f.active)).toHaveLength(1);
  });

  it("turns off a person's own TFA, but not while the organization requires it", async () => {
    await withFactors(bob);
    expect(redirect(await post(adminBrowser, `/admin/people/${bob.seeded.user.id}/turn-off-tfa`))).toBe(
      `303 /admin/people/${bob.seeded.user.id}?done=off`,
    );
    expect((await factorsOf(bob)).filter((f) => f.active)).toEqual([]);
  });

  it('requires TFA for everyone after a confirmation, and the next sign-in without a method must enrol', async () => {
    const confirm = await page(adminBrowser, '/admin/security/enforcement?to=on');
    expect(confirm).toContain('Require two-step verification for everyone?');
    expect(redirect(await post(adminBrowser, '/admin/security/enforcement', { to: 'on' }))).toBe(
      '303 /admin/security?done=on',
    );
    expect(await page(adminBrowser, '/admin/security?done=on')).toContain('Required');
    // Bob's password-only session is caught at the next authorization request.
    expect((await driver.silentSignIn(bobsFirstBrowser)).get('error')).toBe('interaction_required');
    const bobsBrowser = new Browser();
    const start = await open(bobsBrowser, '/account');
    const login = readForm(await start.response.text(), /\/login$/);
    const target = new URL(login.action, start.url);
    const landed = await bobsBrowser.follow(
      await bobsBrowser.request(target, {
        form: { _csrf: login.csrf, email: bob.seeded.user.email, password: PASSWORD },
      }),
      target,
    );
    expect(landed.url.pathname).toMatch(/\/enrol$/);
    expect(await landed.response.text()).toContain('Set up two-step verification');
    // Now that it is required, a person's TFA cannot be turned off.
    await withFactors(bob);
    const refused = await post(adminBrowser, `/admin/people/${bob.seeded.user.id}/turn-off-tfa`);
    expect(refused.status).toBe(409);
    expect(await refused.text()).toContain('requires two-step verification for everyone');
  });

  it('checks the sign-in settings and says what is wrong next to the field', async () => {
    const bad = await post(adminBrowser, '/admin/security/settings', {
      trustedBrowserDays: '900',
      passwordMinLength: '4',
    });
    expect(bad.status).toBe(400);
    const html = await bad.text();
    expect(html).toMatch(/id="trustedBrowserDays-error" role="alert">Use 0 to 365 days\./);
    expect(html).toMatch(/id="passwordMinLength-error" role="alert">Use 8 to 64 characters/);
    expect(
      redirect(
        await post(adminBrowser, '/admin/security/settings', { trustedBrowserDays: '7', passwordMinLength: '12' }),
      ),
    ).toBe('303 /admin/security?done=settings');
    expect(await server.app.stores.organizations.findOrganizationBySlug('acme')).toMatchObject({
      trustedBrowserDays: 7,
      passwordMinLength: 12,
    });
  });

  it('asks for a fresh sign-in before any change when the last one is older than five minutes', async () => {
    clock.advance(301_000);
    const stale = await post(adminBrowser, '/admin/security/enforcement', { to: 'off' });
    expect(stale.status).toBe(303);
    expect(stale.headers.get('location')).toMatch(/^\/account\/login\?fresh=1&resume=/);
    expect((await server.app.stores.organizations.findOrganizationBySlug('acme'))!.enforceTfa).toBe(true);
  });
});
