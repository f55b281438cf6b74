import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { Browser, createAccountDriver, type Member } from '../helpers/account-driver.ts';
import { createTestClock } from '../helpers/clock.ts';
import { PASSWORD } from '../helpers/seed.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

/**
 * Console → a person's account (issue 9): disabling signs the person out everywhere and enabling
 * lets them back with their methods; roles change both ways, recorded with from and to; the People
 * list shows role and "Disabled" and filters on it; an administrator cannot lock themselves out.
 * The races between two administrators are in admin-person-status.race.test.ts.
 */
describe('disabling, enabling and roles in the admin console', () => {
  const clock = createTestClock(Date.now() - 3_600_000);
  let server: TestServer;
  const driver = createAccountDriver({ server: () => server, clock });
  const { page, member, redirect, withFactors, signIn, post, open } = driver;
  let grace: Member;
  let alan: Member;
  let ada: Member;
  let bob: Member;
  const graceBrowser = new Browser();
  const alanBrowser = new Browser();

  async function adminOf(email: string, name: string): Promise<Member> {
    const org = (await server.app.stores.organizations.findOrganizationBySlug('acme'))!;
    const user = await server.app.services.accounts.createUser(org, { email, password: PASSWORD, role: 'admin', name });
    return { seeded: { org, user, password: PASSWORD }, password: PASSWORD, secret: null, lastStep: 0 };
  }

  const id = (m: Member) => m.seeded.user.id;
  const org = () => grace.seeded.org;
  const userOf = async (m: Member) => (await server.app.stores.users.findUserBySubject(id(m)))!.user;
  const eventsOf = async (m: Member) => (await server.app.services.people.describe(org(), id(m))).events;

  beforeAll(async () => {
    server = await startTestServer('sqlite', { clock });
    ada = await member('ada@acme.example');
    bob = await member('bob@acme.example');
    grace = await adminOf('grace@acme.example', 'Grace Hopper');
    alan = await adminOf('alan@acme.example', 'Alan Turing');
    for (const m of [grace, alan, ada]) await withFactors(m);
    await signIn(graceBrowser, grace);
    await signIn(alanBrowser, alan);
  });
  afterAll(async () => server?.close());

  it('disabling signs the person out everywhere at once, and enabling lets them back with their methods', async () => {
    const adasBrowser = new Browser();
    await signIn(adasBrowser, ada);
    expect(redirect(await post(graceBrowser, `/admin/people/${id(ada)}/disable`))).toBe(
      `303 /admin/people/${id(ada)}?done=disabled`,
    );
    const html = await page(graceBrowser, `/admin/people/${id(ada)}?done=disabled`);
    expect(html).toContain('The account is disabled. Every session and token of this person has ended');
    expect(html).toMatch(/<span class="badge off">Disabled<\/span> since <time datetime=/);
    expect(html).toContain('Enable the account');
    expect(html).toContain('Account disabled by an administrator');
    expect((await eventsOf(ada)).find((e) => e.type === 'user.disabled')).toMatchObject({
      actor: 'grace@acme.example',
    });
    // Ada's browser is sent to sign in again, where her right password hears why it is refused.
    const signedOut = await open(adasBrowser, '/account');
    expect(signedOut.url.pathname).toMatch(/^\/interaction\/[^/]+$/);
    expect(await signedOut.response.text()).toContain('name="password"');

    expect(redirect(await post(graceBrowser, `/admin/people/${id(ada)}/enable`))).toBe(
      `303 /admin/people/${id(ada)}?done=enabled`,
    );
    expect(await page(graceBrowser, `/admin/people/${id(ada)}?done=enabled`)).toContain(
      'The account is enabled again.',
    );
    await signIn(new Browser(), ada);
    expect((await eventsOf(ada)).find((e) => e.type === 'user.enabled')).toMatchObject({
      actor: 'grace@acme.example',
    });
  });

  it('makes a member an administrator and back, recorded with what the role was and became', async () => {
    const bobsBrowser = new Browser();
    await signIn(bobsBrowser, bob);
    expect((await open(bobsBrowser, '/admin/people')).response.status).toBe(403);
    expect(redirect(await post(graceBrowser, `/admin/people/${id(bob)}/role`, { role: 'admin' }))).toBe(
      `303 /admin/people/${id(bob)}?done=role`,
    );
    expect((await open(bobsBrowser, '/admin/people')).response.status).toBe(200);
    expect(await page(graceBrowser, `/admin/people/${id(bob)}`)).toContain('Make a member');
    expect(redirect(await post(graceBrowser, `/admin/people/${id(bob)}/role`, { role: 'member' }))).toBe(
      `303 /admin/people/${id(bob)}?done=role`,
    );
    expect((await open(bobsBrowser, '/admin/people')).response.status).toBe(403);
    const changes = (await eventsOf(bob)).filter((e) => e.type === 'user.role_changed');
    expect(changes.map((e) => [e.actor, e.detail])).toEqual([
      ['grace@acme.example', { from: 'admin', to: 'member' }],
      ['grace@acme.example', { from: 'member', to: 'admin' }],
    ]);
    const junk = await post(graceBrowser, `/admin/people/${id(bob)}/role`, { role: 'owner' });
    expect(junk.status).toBe(400);
    expect((await userOf(bob)).role).toBe('member');
  });

  it('lists role and "Disabled", and filters for disabled people', async () => {
    await post(graceBrowser, `/admin/people/${id(bob)}/disable`);
    const all = await page(graceBrowser, '/admin/people');
    expect(all).toMatch(
      /<strong>Alice Example<\/strong><\/a> <span class="badge off">Disabled<\/span><br>\s*<span class="muted">bob@acme\.example · Member/,
    );
    expect(all).toMatch(
      /<strong>Grace Hopper<\/strong><\/a><br>\s*<span class="muted">grace@acme\.example · Administrator/,
    );
    const disabled = await page(graceBrowser, '/admin/people?account=disabled');
    expect(disabled).toContain('1 person');
    expect(disabled).toContain('bob@acme.example');
    expect(disabled).toContain('<option value="disabled" selected>Disabled</option>');
    const active = await page(graceBrowser, '/admin/people?account=active');
    expect(active).toContain('3 people');
    expect(active).not.toContain('bob@acme.example');
    await post(graceBrowser, `/admin/people/${id(bob)}/enable`);
  });

  it('an administrator cannot disable or demote themselves: refused with the reason, nothing changed', async () => {
    const own = await page(graceBrowser, `/admin/people/${id(grace)}`);
    expect(own).toContain('You cannot disable your own account here.');
    expect(own).not.toContain(`/admin/people/${id(grace)}/disable`);
    expect(own).not.toContain(`/admin/people/${id(grace)}/role`);
    for (const [action, form, reason] of [
      ['disable', {}, 'You cannot disable your own account. Another administrator can.'],
      ['role', { role: 'member' }, 'You cannot remove your own administrator role. Another administrator can.'],
    ] as const) {
      const refused = await post(graceBrowser, `/admin/people/${id(grace)}/${action}`, form);
      const location = `/admin/people/${id(grace)}?refused=self_lockout-${action}`;
      expect(redirect(refused)).toBe(`303 ${location}`);
      expect(await page(graceBrowser, location)).toContain(`<div class="alert" role="alert"><p>${reason}</p></div>`);
    }
    expect(await userOf(grace)).toMatchObject({ role: 'admin', disabledAt: null });
    expect((await open(graceBrowser, '/admin/people')).response.status).toBe(200);
  });
});
