import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { Browser, createAccountDriver, type Member, type Page } from '../helpers/account-driver.ts';
import { readForm } from '../helpers/agent.ts';
import { createTestClock } from '../helpers/clock.ts';
import { PASSWORD } from '../helpers/seed.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

const ROUTES = ['disable', 'enable', 'role', 'clear-throttle'] as const;

/**
 * Console → a person's account, its guards (issue 9): another organization's person is not found
 * (404) and nothing changes; members are refused (403); every change needs a fresh sign-in and
 * completes after it. And the throttle an administrator clears: only that person's own counters.
 * The clock starts an hour back so that oidc-provider agrees a sign-in is stale (see account.test.ts).
 */
describe('the admin console on a person: isolation, step-up and failed attempts', () => {
  const clock = createTestClock(Date.now() - 3_600_000);
  let server: TestServer;
  const driver = createAccountDriver({ server: () => server, clock });
  const { page, member, redirect, withFactors, signIn, post, open, authenticate } = driver;
  let grace: Member;
  let ada: Member;
  let bob: Member;
  let carol: Member;
  let outsider: Member;
  const graceBrowser = new Browser();

  beforeAll(async () => {
    server = await startTestServer('sqlite', { clock });
    ada = await member('ada@acme.example');
    bob = await member('bob@acme.example');
    carol = await member('carol@acme.example');
    outsider = await member('eve@other.example', 'other');
    const org = ada.seeded.org;
    const user = await server.app.services.accounts.createUser(org, {
      email: 'grace@acme.example',
      password: PASSWORD,
      role: 'admin',
      name: 'Grace Hopper',
    });
    grace = { seeded: { org, user, password: PASSWORD }, password: PASSWORD, secret: null, lastStep: 0 };
    await withFactors(grace);
    await withFactors(ada);
    await signIn(graceBrowser, grace);
  });
  afterAll(async () => server?.close());

  const id = (m: Member) => m.seeded.user.id;
  const userOf = async (m: Member) => (await server.app.stores.users.findUserBySubject(id(m)))!.user;
  const statusOf = async (m: Member) => {
    const { role, disabledAt } = await userOf(m);
    return { role, disabledAt };
  };

  /** A wrong password at the sign-in page, from a browser without a device cookie: the account's count. */
  async function failPassword(m: Member): Promise<number> {
    const b = new Browser();
    const start = await open(b, '/account');
    const login = readForm(await start.response.text(), /\/login$/);
    const target = new URL(login.action, start.url);
    const answer = await b.request(target, {
      form: { _csrf: login.csrf, email: m.seeded.user.email, password: 'not the password at all' },
    });
    return answer.status;
  }

  it("answers another organization's person as not found on every route, changing nothing", async () => {
    for (const route of ROUTES) {
      const refused = await post(graceBrowser, `/admin/people/${id(outsider)}/${route}`, { role: 'admin' });
      expect(refused.status, route).toBe(404);
      expect((await post(graceBrowser, `/admin/people/not-an-id/${route}`, { role: 'admin' })).status).toBe(404);
    }
    expect(await statusOf(outsider)).toEqual({ role: 'member', disabledAt: null });
    await signIn(new Browser(), outsider);
  });

  it('refuses members on every route (403), changing nothing', async () => {
    const bobsBrowser = new Browser();
    await signIn(bobsBrowser, bob);
    for (const route of ROUTES) {
      const refused = await post(bobsBrowser, `/admin/people/${id(ada)}/${route}`, { role: 'admin' });
      expect(refused.status, route).toBe(403);
    }
    expect((await post(bobsBrowser, `/admin/people/${id(bob)}/role`, { role: 'admin' })).status).toBe(403);
    expect(await statusOf(ada)).toEqual({ role: 'member', disabledAt: null });
    expect(await statusOf(bob)).toEqual({ role: 'member', disabledAt: null });
  });

  it("shows a person's slowed sign-in and clears only their own failed attempts", async () => {
    for (let i = 0; i < 5; i++) expect(await failPassword(bob)).toBe(401);
    for (let i = 0; i < 5; i++) expect(await failPassword(carol)).toBe(401);
    expect(await failPassword(bob)).toBe(429);
    const slowed = await page(graceBrowser, `/admin/people/${id(bob)}`);
    expect(slowed).toContain('<strong>Sign-in is slowed down</strong> by failed attempts on this account.');
    expect(slowed).toContain(
      '<li>Password: 5 failed attempts; the next try must wait 1 second. Forgotten in 15 minutes without further failures.</li>',
    );

    expect(redirect(await post(graceBrowser, `/admin/people/${id(bob)}/clear-throttle`))).toBe(
      `303 /admin/people/${id(bob)}?done=throttle`,
    );
    const cleared = await page(graceBrowser, `/admin/people/${id(bob)}?done=throttle`);
    expect(cleared).toContain('The failed sign-in attempts were cleared.');
    expect(cleared).toMatch(/Failed sign-in attempts<\/h2>\s*<p class="muted">None counted now\.<\/p>/);
    // Bob signs in at once; Carol's count is hers and stays.
    await signIn(new Browser(), bob);
    expect(await page(graceBrowser, `/admin/people/${id(carol)}`)).toContain('Password: 5 failed attempts');
    const events = (await server.app.services.people.describe(bob.seeded.org, id(bob))).events;
    expect(events.find((e) => e.type === 'throttle.cleared')).toMatchObject({
      actor: 'grace@acme.example',
      detail: { steps: ['password'] },
    });
  });

  it("counts and clears a person's wrong two-step codes, and the right code then works at once", async () => {
    const b = new Browser();
    const start = await open(b, '/account');
    const login = readForm(await start.response.text(), /\/login$/);
    const loginTarget = new URL(login.action, start.url);
    const form = { _csrf: login.csrf, email: ada.seeded.user.email, password: PASSWORD };
    const verify: Page = await b.follow(await b.request(loginTarget, { form }), loginTarget);
    const code = readForm(await verify.response.text(), /\/verify\/[a-z]+$/);
    const target = new URL(`${verify.url.pathname}/totp`, verify.url);
    const factorId = (await driver.factorsOf(ada)).find((f) => f.kind === 'totp')!.id;
    const tryCode = (value: string) => b.request(target, { form: { _csrf: code.csrf, factorId, code: value } });
    // Eleven wrong codes, each once the wait before it has passed (1, 2, 4 … 32 seconds after the
    // five free ones): the next try must wait 64 seconds, longer than the next code takes to come.
    for (let i = 0; i < 11; i++) {
      if (i >= 5) clock.advance(2 ** (i - 5) * 1000);
      expect((await tryCode('000000')).status).not.toBe(429);
    }
    expect(await page(graceBrowser, `/admin/people/${id(ada)}`)).toContain(
      '<li>Two-step codes: 11 failed attempts; the next try must wait 64 seconds.',
    );
    expect((await tryCode(driver.nextCode(ada))).status).toBe(429);
    expect(redirect(await post(graceBrowser, `/admin/people/${id(ada)}/clear-throttle`))).toBe(
      `303 /admin/people/${id(ada)}?done=throttle`,
    );
    const landed = await b.follow(await tryCode(driver.nextCode(ada)), target);
    expect(landed.url.pathname).toBe('/account');
  });

  it('sends every change through a fresh sign-in when the last one is stale, then completes it', async () => {
    clock.advance(301_000);
    for (const route of ROUTES) {
      const stale = await post(graceBrowser, `/admin/people/${id(ada)}/${route}`, { role: 'admin' });
      expect(redirect(stale), route).toMatch(/^303 \/account\/login\?fresh=1&resume=[A-Za-z0-9_-]{22}$/);
    }
    expect(await statusOf(ada)).toEqual({ role: 'member', disabledAt: null });

    const stale = await post(graceBrowser, `/admin/people/${id(ada)}/disable`);
    const { page: resumed, steps } = await authenticate(
      graceBrowser,
      grace,
      await open(graceBrowser, stale.headers.get('location')!),
    );
    expect(steps).toEqual(['password', 'second-factor']);
    expect(resumed.url.pathname).toMatch(/^\/account\/resume\//);
    const form = readForm(await resumed.response.text(), /^\/admin\/people\/[^/]+\/disable$/);
    const done = await graceBrowser.request(driver.url(form.action), { form: { _csrf: form.csrf } });
    expect(redirect(done)).toBe(`303 /admin/people/${id(ada)}?done=disabled`);
    expect((await userOf(ada)).disabledAt).not.toBeNull();
  });
});
