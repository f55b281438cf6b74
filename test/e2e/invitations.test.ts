import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { Browser, createAccountDriver, type Member } from '../helpers/account-driver.ts';
import { readForm } from '../helpers/agent.ts';
import { createTestClock } from '../helpers/clock.ts';
import { freshChanges, linkDriver } from '../helpers/links.ts';
import { authorizationRequest, discoverRp, exchange, open as openRp, submitLogin } from '../helpers/rp.ts';
import type { RelyingParty } from '../helpers/rp.ts';
import { PASSWORD, seedClient } from '../helpers/seed.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { secretFromUri, totpAt } from '../helpers/totp.ts';

const CHOSEN = 'harbor violet pencil drum';

/**
 * Invitations end to end in an organization that requires two-step verification: the administrator
 * invites (after a fresh sign-in), the person chooses a password from the emailed link and confirms
 * their name, then signs in and sets up a second factor before anything is issued. Until they accept,
 * nothing but their link lets them in. Used, replaced, cancelled and expired links say what to do.
 * The clock starts an hour back so that oidc-provider agrees a sign-in is stale (see account.test.ts).
 */
describe('invitations', () => {
  const clock = createTestClock(Date.now() - 3_600_000);
  let server: TestServer;
  let rp: RelyingParty;
  const driver = createAccountDriver({ server: () => server, clock });
  const links = linkDriver(() => server);
  const { change } = freshChanges(driver, links);
  const { withFactors, signIn, page } = driver;
  let admin: Member;
  const adminBrowser = new Browser();

  beforeAll(async () => {
    server = await startTestServer('sqlite', { clock });
    rp = await discoverRp(server.issuer, await seedClient(server.app, { firstParty: true }));
    const org = await server.app.services.organizations.createOrganization({
      slug: 'acme',
      name: 'Acme Corp',
      enforceTfa: true,
    });
    const user = await server.app.services.accounts.createUser(org, {
      email: 'grace@acme.example',
      password: PASSWORD,
      role: 'admin',
    });
    admin = { seeded: { org, user, password: PASSWORD }, password: PASSWORD, secret: null, lastStep: 0 };
    await withFactors(admin);
    await signIn(adminBrowser, admin);
  });
  afterAll(async () => server?.close());

  const invite = (email: string, name = '', role = 'member') =>
    change(adminBrowser, admin, '/admin/invitations', { email, name, role });
  const userOf = async (email: string) => (await server.app.stores.users.findUserByEmail(email))?.user;
  const typesOf = async (userId: string) =>
    (await server.app.services.people.describe(admin.seeded.org, userId)).events.map((e) => e.type);

  /** Signs in at the application with email and password; the page that follows. */
  async function signInAt(b: Browser, email: string, password: string) {
    const request = await authorizationRequest(rp);
    const login = await openRp(b, request.url, rp.redirectUri);
    return { request, page: await submitLogin(b, login, email, password, rp.redirectUri) };
  }

  it('invites a person who chooses their password, then sets up two-step verification at their first sign-in', async () => {
    const form = await page(adminBrowser, '/admin/invitations');
    expect(form).toContain('Invite people');
    expect(form).toMatch(/<label for="role-admin">Administrator/);
    const invited = await invite('ivy@acme.example', 'Ivy', 'member');
    const id = /^\/admin\/people\/([0-9a-f-]{36})$/.exec(invited.url.pathname)![1]!;
    const personPage = await invited.response.text();
    expect(personPage).toContain('The invitation was emailed. Its link works once, for 7 days.');
    expect(personPage).toContain('Send the invitation again');
    expect(personPage).toContain('Cancel the invitation');
    expect(personPage).not.toContain('Send password reset link');
    expect(await page(adminBrowser, '/admin/people')).toContain(
      '<strong>Ivy</strong></a> <span class="badge">Invited</span>',
    );

    const email = await links.emailTo('ivy@acme.example');
    expect(email.subject).toBe('You are invited to Acme Corp');
    expect(email.text).toContain('grace@acme.example invited you to Acme Corp. You will sign in as ivy@acme.example.');
    expect(email.text).toContain('It works once, for 7 days');
    expect(email.text).toContain('Acme Corp requires two-step verification');
    const link = links.linkIn(email, 'invitation');

    // Before accepting, no password signs in, and "Forgot password?" only points at the invitation.
    const refused = await signInAt(new Browser(), 'ivy@acme.example', PASSWORD);
    expect(refused.page.response.status).toBe(401);
    expect((await links.requestLink(new Browser(), 'ivy@acme.example')).status).toBe(200);
    const note = await links.emailTo('ivy@acme.example', 2);
    expect(note.subject).toBe('Your invitation to Acme Corp is waiting');
    expect(note.text).not.toContain('/reset-password/');

    const b = new Browser();
    const first = await b.request(link);
    expect(driver.redirect(first)).toBe('303 /invitation');
    expect(first.headers.get('referrer-policy')).toBe('no-referrer');
    const accept = await links.open(b, '/invitation');
    const html = await accept.response.clone().text();
    expect(html).toContain('Join Acme Corp');
    expect(html).toMatch(/id="name"[^>]*value="Ivy"/);
    expect(html).toContain('At least 8 characters');
    const weak = await links.submit(b, accept, /^\/invitation$/, { name: '', password: 'password' });
    expect(weak.response.status).toBe(400);
    const errors = await weak.response.text();
    expect(errors).toMatch(/id="name-error" role="alert">Enter a name\./);
    expect(errors).toMatch(/id="password-error" role="alert">[^<]+/);
    const done = await links.submit(b, await links.open(b, '/invitation'), /^\/invitation$/, {
      name: 'Ivy Example',
      password: CHOSEN,
    });
    expect(await done.response.text()).toContain('Your account is ready');
    expect(await userOf('ivy@acme.example')).toMatchObject({ name: 'Ivy Example', invitedAt: null });
    expect(await typesOf(id)).toEqual(expect.arrayContaining(['user.invited', 'invitation.accepted']));
    const inviteEvent = (await server.app.services.people.describe(admin.seeded.org, id)).events.find(
      (e) => e.type === 'user.invited',
    );
    expect(inviteEvent?.actor).toBe('grace@acme.example');
    expect((await links.open(new Browser(), link)).response.status).toBe(410);
    expect(await page(adminBrowser, '/admin/people?q=ivy')).not.toContain('>Invited<');

    // The first sign-in: password, then an authenticator app set up before anything is issued.
    const { request, page: enrol } = await signInAt(b, 'ivy@acme.example', CHOSEN);
    expect(enrol.url.pathname).toMatch(/\/enrol$/);
    const choose = readForm(await enrol.response.text(), /\/enrol\/method\/totp$/);
    const totpPage = await (
      await b.request(new URL(choose.action, enrol.url), { form: { _csrf: choose.csrf } })
    ).text();
    const key = /data-testid="manual-key">([A-Z2-7 ]+)</.exec(totpPage)![1]!;
    const secret = secretFromUri(`otpauth://totp/x?secret=${key.replaceAll(' ', '')}`);
    const confirm = readForm(totpPage, /\/enrol\/method\/totp\/confirm$/);
    const factorId = /name="factorId" value="([^"]+)"/.exec(totpPage)![1]!;
    const confirmTarget = new URL(confirm.action, enrol.url);
    const codes = await b.follow(
      await b.request(confirmTarget, {
        form: { _csrf: confirm.csrf, factorId, code: totpAt(secret, clock.now() / 1000) },
      }),
      confirmTarget,
    );
    const finish = readForm(await codes.response.text(), /\/enrol\/finish$/);
    const finishTarget = new URL(finish.action, codes.url);
    const callback = await b.follow(
      await b.request(finishTarget, { form: { _csrf: finish.csrf } }),
      finishTarget,
      (next) => next.href.startsWith(rp.redirectUri),
    );
    expect((await exchange(rp, callback.url, request)).claims()!.amr).toEqual(['pwd', 'otp', 'mfa']);
  });

  it('sends the invitation again (only the newest link works) and cancels it (the person is gone)', async () => {
    const invited = await invite('jo@acme.example', 'Jo');
    const id = /^\/admin\/people\/([0-9a-f-]{36})$/.exec(invited.url.pathname)![1]!;
    const older = links.linkIn(await links.emailTo('jo@acme.example'), 'invitation');
    const resent = await change(adminBrowser, admin, `/admin/people/${id}/resend-invitation`);
    expect(await resent.response.text()).toContain('The invitation was emailed again. Only the newest link works.');
    const newer = links.linkIn(await links.emailTo('jo@acme.example', 2), 'invitation');
    expect((await links.open(new Browser(), older)).response.status).toBe(410);
    expect((await links.open(new Browser(), newer)).response.status).toBe(200);
    expect(await typesOf(id)).toEqual(expect.arrayContaining(['user.invited', 'invitation.resent']));

    const cancelled = await change(adminBrowser, admin, `/admin/people/${id}/cancel-invitation`);
    expect(cancelled.url.pathname).toBe('/admin/people');
    expect(await cancelled.response.text()).toContain('The invitation was cancelled.');
    expect(await userOf('jo@acme.example')).toBeUndefined();
    const gone = await links.open(new Browser(), newer);
    expect(gone.response.status).toBe(410);
    expect(await gone.response.text()).toContain('ask the administrator who invited you to send the invitation again');
  });

  it('says what is wrong with an invitation next to the field', async () => {
    const malformed = await driver.post(adminBrowser, '/admin/invitations', { email: 'nope', name: 'X' });
    expect(malformed.status).toBe(400);
    expect(await malformed.text()).toMatch(
      /id="email-error" role="alert">Enter an email address like name@example\.com\./,
    );
    const taken = await driver.post(adminBrowser, '/admin/invitations', { email: 'GRACE@acme.example', name: 'G' });
    expect(taken.status).toBe(409);
    expect(await taken.text()).toMatch(/id="email-error" role="alert">This email address already has an account\./);
    const role = await driver.post(adminBrowser, '/admin/invitations', { email: 'role@acme.example', role: 'owner' });
    expect(role.status).toBe(400);
    expect(await role.text()).toContain('Choose member or administrator.');
    expect(await userOf('role@acme.example')).toBeUndefined();
  });

  it('explains an expired invitation after seven days', async () => {
    await invite('kai@acme.example', 'Kai');
    const link = links.linkIn(await links.emailTo('kai@acme.example'), 'invitation');
    clock.advance(7 * 86_400_000 + 1000);
    const expired = await links.open(new Browser(), link);
    expect(expired.response.status).toBe(410);
    const html = await expired.response.text();
    expect(html).toContain('It has expired, was already used, was cancelled, or a newer invitation replaced it.');
    expect(html).toContain('If you already chose your password, <a href="/account">sign in</a> with it.');
  });
});
