import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { Browser, createAccountDriver, type Member } from '../helpers/account-driver.ts';
import { createTestClock } from '../helpers/clock.ts';
import { freshChanges, linkDriver } from '../helpers/links.ts';
import { PASSWORD } from '../helpers/seed.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

/**
 * The console's "Send password reset link", "Invite people", "Send the invitation again" and
 * "Cancel the invitation": each behind a fresh sign-in, each only inside the administrator's own
 * organization (another organization's person is not found, 404; members get 403), and the link
 * an administrator sends still asks the person for their second factor.
 * The clock starts an hour back so that oidc-provider agrees a sign-in is stale (see account.test.ts).
 */
describe('reset links and invitations from the admin console', () => {
  const clock = createTestClock(Date.now() - 3_600_000);
  let server: TestServer;
  const driver = createAccountDriver({ server: () => server, clock });
  const links = linkDriver(() => server);
  const { member, withFactors, signIn, post, open } = driver;
  let admin: Member;
  let ada: Member;
  let bob: Member;
  let oscar: Member;
  let globexAdmin: Member;
  const adminBrowser = new Browser();
  const bobsBrowser = new Browser();
  const globexBrowser = new Browser();

  async function adminOf(slug: string, email: string): Promise<Member> {
    const org = (await server.app.stores.organizations.findOrganizationBySlug(slug))!;
    const user = await server.app.services.accounts.createUser(org, { email, password: PASSWORD, role: 'admin' });
    const m = { seeded: { org, user, password: PASSWORD }, password: PASSWORD, secret: null, lastStep: 0 };
    await withFactors(m);
    return m;
  }

  beforeAll(async () => {
    server = await startTestServer('sqlite', { clock });
    ada = await member('ada@acme.example');
    bob = await member('bob@acme.example');
    oscar = await member('oscar@globex.example', 'globex');
    await withFactors(ada);
    admin = await adminOf('acme', 'grace@acme.example');
    globexAdmin = await adminOf('globex', 'gus@globex.example');
    await signIn(adminBrowser, admin);
    await signIn(bobsBrowser, bob);
    await signIn(globexBrowser, globexAdmin);
  });
  afterAll(async () => server?.close());

  const typesOf = async (m: Member) =>
    (await server.app.services.people.describe(m.seeded.org, m.seeded.user.id)).events.map((e) => e.type);

  const { confirmItsMe, change } = freshChanges(driver, links);

  it('sends a reset link after a fresh sign-in, and the link still asks for the second factor', async () => {
    clock.advance(301_000);
    const stale = await post(adminBrowser, `/admin/people/${ada.seeded.user.id}/send-reset-link`);
    expect(links.emails().filter((e) => e.to === 'ada@acme.example')).toEqual([]);
    const resumed = await confirmItsMe(adminBrowser, admin, stale);
    expect(resumed.url.pathname).toBe(`/admin/people/${ada.seeded.user.id}`);
    expect(await resumed.response.text()).toContain('A password reset link was emailed.');

    const email = await links.emailTo('ada@acme.example');
    expect(email.subject).toBe('Reset your Acme Corp password');
    expect(email.text).toContain('An administrator of Acme Corp (grace@acme.example) sent you a link');
    const b = new Browser();
    expect((await links.open(b, links.linkIn(email, 'reset-password'))).url.pathname).toBe('/reset-password/verify');
    const event = (await server.app.services.people.describe(ada.seeded.org, ada.seeded.user.id)).events.find(
      (e) => e.type === 'password.reset_sent',
    );
    expect(event?.actor).toBe('grace@acme.example');
  });

  it('asks for a fresh sign-in before every one of these actions, and does nothing before it', async () => {
    clock.advance(301_000);
    const actions: [string, Record<string, string>][] = [
      [`/admin/people/${ada.seeded.user.id}/send-reset-link`, {}],
      ['/admin/invitations', { email: 'stale@acme.example', name: 'Stale', role: 'member' }],
      [`/admin/people/${ada.seeded.user.id}/resend-invitation`, {}],
      [`/admin/people/${ada.seeded.user.id}/cancel-invitation`, {}],
    ];
    const sent = links.emails().length;
    for (const [path, form] of actions) {
      expect((await post(adminBrowser, path, form)).headers.get('location')).toMatch(/^\/account\/login\?fresh=1/);
    }
    expect(links.emails()).toHaveLength(sent);
    expect(await server.app.stores.users.findUserByEmail('stale@acme.example')).toBeUndefined();
    await confirmItsMe(adminBrowser, admin, await post(adminBrowser, actions[0]![0]));
  });

  it("answers another organization's person as not found, and refuses members, changing nothing", async () => {
    // Globex's administrator signed in long ago: they confirm it's them, and the invitation goes out.
    const invited = await change(globexBrowser, globexAdmin, '/admin/invitations', {
      email: 'iris@globex.example',
      name: 'Iris',
    });
    const iris = /\/admin\/people\/([0-9a-f-]{36})/.exec(invited.url.pathname)![1]!;
    const sent = links.emails().length;
    for (const id of [oscar.seeded.user.id, iris]) {
      for (const action of ['send-reset-link', 'resend-invitation', 'cancel-invitation']) {
        expect((await post(adminBrowser, `/admin/people/${id}/${action}`)).status).toBe(404);
      }
    }
    for (const action of ['send-reset-link', 'resend-invitation', 'cancel-invitation']) {
      expect((await post(bobsBrowser, `/admin/people/${ada.seeded.user.id}/${action}`)).status).toBe(403);
    }
    expect((await open(bobsBrowser, '/admin/invitations')).response.status).toBe(403);
    const byMember = await post(bobsBrowser, '/admin/invitations', { email: 'sneaky@acme.example', role: 'admin' });
    expect(byMember.status).toBe(403);
    expect(links.emails()).toHaveLength(sent);
    expect(await server.app.stores.users.findUserByEmail('iris@globex.example')).toBeDefined();
    expect(await server.app.stores.users.findUserByEmail('sneaky@acme.example')).toBeUndefined();
    // An invitation always goes to the administrator's own organization, whatever the form says.
    const moved = await post(adminBrowser, '/admin/invitations', {
      email: 'jan@acme.example',
      name: 'Jan',
      role: 'member',
      orgId: oscar.seeded.org.id,
    });
    expect(moved.status).toBe(303);
    expect((await server.app.stores.users.findUserByEmail('jan@acme.example'))!.organization.slug).toBe('acme');
  });

  it('refuses a reset link for a person who is invited or disabled, and says what to do instead', async () => {
    const jan = (await server.app.stores.users.findUserByEmail('jan@acme.example'))!.user;
    const refused = await post(adminBrowser, `/admin/people/${jan.id}/send-reset-link`);
    expect(refused.status).toBe(409);
    expect(await refused.text()).toContain(
      'Jan has not accepted their invitation yet. Send the invitation again instead.',
    );
    await links.disable(bob.seeded.user.id, clock.now());
    const disabled = await post(adminBrowser, `/admin/people/${bob.seeded.user.id}/send-reset-link`);
    expect(disabled.status).toBe(409);
    expect(await disabled.text()).toContain('is disabled. Enable them first.');
    const accepted = await post(adminBrowser, `/admin/people/${ada.seeded.user.id}/resend-invitation`);
    expect(accepted.status).toBe(409);
    expect(await typesOf(ada)).not.toContain('invitation.resent');
  });

  it("the link an administrator sent ends the person's sessions like their own (issue 8)", async () => {
    const cy = await member('cy@acme.example');
    const cysBrowser = new Browser();
    await signIn(cysBrowser, cy);
    await change(adminBrowser, admin, `/admin/people/${cy.seeded.user.id}/send-reset-link`);
    const link = links.linkIn(await links.emailTo('cy@acme.example'), 'reset-password');
    const b = new Browser();
    const form = await links.open(b, link);
    const done = await links.submit(b, form, /^\/reset-password$/, { password: 'marble kettle lantern orbit' });
    expect(await done.response.text()).toContain('Every device was signed out.');
    expect((await open(cysBrowser, '/account')).url.pathname).toMatch(/^\/interaction\//);
  });
});
