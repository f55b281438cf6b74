import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { ACR_PASSWORD } from '../../src/domain/authentication.ts';
import type { User } from '../../src/ports/stores.ts';
import { Browser, createAccountDriver, type Member, type Page } from '../helpers/account-driver.ts';
import { Agent, readForm } from '../helpers/agent.ts';
import { createTestClock } from '../helpers/clock.ts';
import { authorizationRequest, discoverRp, exchange, open, submitLogin, type RelyingParty } from '../helpers/rp.ts';
import { PASSWORD, seedClient } from '../helpers/seed.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

const DAY = 86_400_000;
const MONTH_NAMES = 'January February March April May June July August September October November December'.split(' ');

/** "14 March 2031": the deadline as the page words it (UTC). */
const longDate = (at: number) => {
  const d = new Date(at);
  return `${d.getUTCDate()} ${MONTH_NAMES[d.getUTCMonth()]} ${d.getUTCFullYear()}`;
};
/** "2031-03-14": the value of a date input, `days` after the clock's day. */
const dateIn = (now: number, days: number) => new Date(now + days * DAY).toISOString().slice(0, 10);

/**
 * The enrolment grace period (issue 9) end to end, with the test clock moving through it: an
 * administrator gives the organization 14 days and turns enforcement on; members without a method
 * see their deadline at each sign-in and may go on with their password alone (acr pwd) until it
 * passes, after which they enrol first and prompt=none answers interaction_required. An
 * administrator moves or ends one person's deadline, behind a fresh sign-in, inside their own
 * organization only; no one moves their own.
 */
describe('the enrolment grace period', () => {
  const clock = createTestClock(Date.now() - 3_600_000);
  let server: TestServer;
  let rp: RelyingParty;
  const driver = createAccountDriver({ server: () => server, clock });
  const { member, withFactors, signIn, post, page, open: openPage, redirect } = driver;
  let admin: Member;
  let enforcedAt: number;
  const people: Record<string, Member> = {};
  /** Ada's sign-in three days into the grace, kept for prompt=none after the deadline. */
  const adasLaterAgent = new Agent();

  const userOf = async (m: Member): Promise<User> =>
    (await server.app.stores.users.findUserBySubject(m.seeded.user.id))!.user;
  const eventsOf = async (m: Member, type: string) =>
    (await server.app.services.people.describe(m.seeded.org, m.seeded.user.id)).events.filter((e) => e.type === type);

  async function adminOf(slug: string, email: string): Promise<Member> {
    const org = (await server.app.stores.organizations.findOrganizationBySlug(slug))!;
    const user = await server.app.services.accounts.createUser(org, { email, password: PASSWORD, role: 'admin' });
    return { seeded: { org, user, password: PASSWORD }, password: PASSWORD, secret: null, lastStep: 0 };
  }

  /** An administrator's browser signed in to the console just now. */
  async function freshAdmin(): Promise<Browser> {
    const browser = new Browser();
    await signIn(browser, admin);
    return browser;
  }

  /** Email and password at the relying party: the page that follows. */
  async function passwordStep(agent: Agent, m: Member) {
    const request = await authorizationRequest(rp);
    const login = await open(agent, request.url, rp.redirectUri);
    return { request, page: await submitLogin(agent, login, m.seeded.user.email, PASSWORD, rp.redirectUri) };
  }

  /** Posts the page's form whose action matches, and follows it to a page or the client. */
  async function submit(agent: Agent, landed: Page, html: string, action: RegExp) {
    const form = readForm(html, action);
    const target = new URL(form.action, landed.url);
    const response = await agent.request(target, { form: { _csrf: form.csrf } });
    return agent.follow(response, target, (next) => next.href.startsWith(rp.redirectUri));
  }

  /** Signs in at the relying party and chooses "Not now": the client's callback URL. */
  async function signInLater(agent: Agent, m: Member) {
    const { request, page: grace } = await passwordStep(agent, m);
    expect(grace.url.pathname).toMatch(/\/grace$/);
    const landed = await submit(agent, grace, await grace.response.text(), /\/grace\/later$/);
    return { request, callback: landed.url };
  }

  /** prompt=none with the agent's session: the callback's parameters (a code, or an error). */
  async function silently(agent: Agent): Promise<URLSearchParams> {
    const request = await authorizationRequest(rp, { prompt: 'none' });
    return (await open(agent, request.url, rp.redirectUri)).url.searchParams;
  }

  beforeAll(async () => {
    server = await startTestServer('sqlite', { clock });
    rp = await discoverRp(server.issuer, await seedClient(server.app, { firstParty: true }));
    for (const name of ['ada', 'bob', 'carol', 'erin']) people[name] = await member(`${name}@acme.example`);
    people.eve = await member('eve@other.example', 'other');
    admin = await adminOf('acme', 'grace@acme.example');
    await withFactors(admin);
    await withFactors(people.erin!);
    const adminBrowser = await freshAdmin();
    expect(redirect(await post(adminBrowser, '/admin/security/grace', { tfaGraceDays: '14' }))).toBe(
      '303 /admin/security?done=grace',
    );
    expect(redirect(await post(adminBrowser, '/admin/security/enforcement', { to: 'on' }))).toBe(
      '303 /admin/security?done=on',
    );
    const acme = (await server.app.stores.organizations.findOrganizationBySlug('acme'))!;
    enforcedAt = acme.tfaEnforcedAt!;
    expect(enforcedAt).toBe(clock.now());
    // Sessions here last the longest allowed (30 days, also idle), so that prompt=none answers for
    // the enrolment policy across the grace weeks, not for a session that timed out.
    await server.app.services.organizations.updatePolicy(
      acme,
      { sessionMaxHours: 720, sessionIdleMinutes: 720 * 60 },
      { userId: 'test', ip: '127.0.0.1' },
    );
    const other = (await server.app.stores.organizations.findOrganizationBySlug('other'))!;
    await server.app.services.organizations.updatePolicy(
      other,
      { enforceTfa: true, tfaGraceDays: 30 },
      {
        userId: 'test',
        ip: '127.0.0.1',
      },
    );
  });
  afterAll(async () => server?.close());

  it('shows a member without a method their deadline, and "Not now" signs in with the password alone', async () => {
    const agent = new Agent();
    const { request, page: grace } = await passwordStep(agent, people.ada!);
    expect(grace.url.pathname).toMatch(/\/grace$/);
    const html = await grace.response.text();
    const deadline = enforcedAt + 14 * DAY;
    expect(html).toContain(`<time datetime="${new Date(deadline).toISOString()}">${longDate(deadline)} at `);
    expect(html).toContain('(14 days left)');
    expect(html).toMatch(/<button type="submit" class="primary">Set up now<\/button>/);
    expect(html).toMatch(/<button type="submit" class="link">Not now/);
    // The password alone made no code for the client yet.
    expect(grace.url.href.startsWith(rp.redirectUri)).toBe(false);
    const landed = await submit(agent, grace, html, /\/grace\/later$/);
    const claims = (await exchange(rp, landed.url, request)).claims()!;
    expect(claims.acr).toBe(ACR_PASSWORD);
    expect(claims.amr).toEqual(['pwd']);
    expect(await eventsOf(people.ada!, 'tfa.enrolment_postponed')).toHaveLength(1);
    // During the grace, the session serves prompt=none.
    expect((await silently(agent)).get('code')).toBeTruthy();
  });

  it('shows the deadline again at every sign-in, counting down the days', async () => {
    clock.advance(3 * DAY);
    const { page: grace } = await passwordStep(adasLaterAgent, people.ada!);
    const html = await grace.response.text();
    expect(html).toContain('(11 days left)');
    const landed = await submit(adasLaterAgent, grace, html, /\/grace\/later$/);
    expect(landed.url.href.startsWith(rp.redirectUri)).toBe(true);
  });

  it('"Set up now" leads to the enrolment at sign-in', async () => {
    const agent = new Agent();
    const { page: grace } = await passwordStep(agent, people.carol!);
    const enrol = await submit(agent, grace, await grace.response.text(), /\/grace\/now$/);
    expect(enrol.url.pathname).toMatch(/\/enrol$/);
    const html = await enrol.response.text();
    expect(html).toContain('Set up two-step verification');
    expect(html).toMatch(/action="\/interaction\/[^"]+\/enrol\/method\/[a-z-]+"/);
  });

  it("asks for a fresh sign-in before an administrator moves a person's deadline", async () => {
    const browser = await freshAdmin();
    clock.advance(301_000);
    const stale = await post(browser, `/admin/people/${people.bob!.seeded.user.id}/grace/extend`, {
      until: dateIn(clock.now(), 30),
    });
    expect(stale.status).toBe(303);
    expect(stale.headers.get('location')).toMatch(/^\/account\/login\?fresh=1&resume=/);
    expect((await userOf(people.bob!)).tfaGraceUntil).toBeNull();
  });

  it('lets an administrator move one person’s deadline, shown in the directory and to the person', async () => {
    const browser = await freshAdmin();
    const bob = people.bob!;
    const until = dateIn(clock.now(), 30);
    expect(redirect(await post(browser, `/admin/people/${bob.seeded.user.id}/grace/extend`, { until }))).toBe(
      `303 /admin/people/${bob.seeded.user.id}?done=grace_extended`,
    );
    const deadline = Date.parse(`${until}T23:59:59.999Z`);
    expect((await userOf(bob)).tfaGraceUntil).toBe(deadline);
    const [event] = await eventsOf(bob, 'tfa.grace_extended');
    expect(event).toMatchObject({
      actor: admin.seeded.user.email,
      detail: { until: new Date(deadline).toISOString() },
    });

    const listed = await page(browser, '/admin/people?status=grace');
    expect(listed).toMatch(/bob@acme\.example[^]*Required, grace until <time datetime="[^"]+">[^<]*<\/time>/);
    expect(listed).toContain(`datetime="${new Date(deadline).toISOString()}"`);
    expect(listed).not.toContain('erin@acme.example');
    const detail = await page(browser, `/admin/people/${bob.seeded.user.id}?done=grace_extended`);
    expect(detail).toContain('The deadline was changed.');
    expect(detail).toMatch(/Must set it up by <strong><time datetime="[^"]+"/);

    const { page: grace } = await passwordStep(new Agent(), bob);
    const html = await grace.response.text();
    expect(html).toContain(`${longDate(deadline)} at 23:59 UTC`);
    expect(html).toContain('(30 days left)');
  });

  it('refuses a deadline in the past or more than 90 days ahead, next to the field, changing nothing', async () => {
    const browser = await freshAdmin();
    const bob = people.bob!;
    const before = (await userOf(bob)).tfaGraceUntil;
    for (const until of [dateIn(clock.now(), 91), dateIn(clock.now(), -1), 'next week', '2031-02-30']) {
      const refused = await post(browser, `/admin/people/${bob.seeded.user.id}/grace/extend`, { until });
      expect(refused.status, until).toBe(400);
      expect(await refused.text()).toMatch(
        /id="grace-until-error" role="alert">Choose a date from today to 90 days from today\./,
      );
    }
    expect((await post(browser, `/admin/people/${bob.seeded.user.id}/grace/extend`)).status).toBe(400);
    // Someone with a method has no deadline to move.
    const erin = await post(browser, `/admin/people/${people.erin!.seeded.user.id}/grace/extend`, {
      until: dateIn(clock.now(), 5),
    });
    expect(erin.status).toBe(409);
    expect((await userOf(bob)).tfaGraceUntil).toBe(before);
  });

  it("answers another organization's person as not found, and refuses members, their own deadline too", async () => {
    const browser = await freshAdmin();
    const eve = people.eve!;
    const until = dateIn(clock.now(), 10);
    expect((await post(browser, `/admin/people/${eve.seeded.user.id}/grace/extend`, { until })).status).toBe(404);
    expect((await post(browser, `/admin/people/${eve.seeded.user.id}/grace/end`)).status).toBe(404);
    expect((await userOf(eve)).tfaGraceUntil).toBeNull();

    // Ada signs in to her account through the grace page, then tries to move her own deadline.
    const adas = new Browser();
    const start = await openPage(adas, '/account');
    const html = await start.response.text();
    const login = readForm(html, /\/login$/);
    const target = new URL(login.action, start.url);
    const grace = await adas.follow(
      await adas.request(target, {
        form: { _csrf: login.csrf, email: people.ada!.seeded.user.email, password: PASSWORD },
      }),
      target,
    );
    const later = readForm(await grace.response.text(), /\/grace\/later$/);
    const laterTarget = new URL(later.action, grace.url);
    const landed = await adas.follow(await adas.request(laterTarget, { form: { _csrf: later.csrf } }), laterTarget);
    expect(landed.url.pathname).toBe('/account');
    const own = people.ada!.seeded.user.id;
    expect((await post(adas, `/admin/people/${own}/grace/extend`, { until: dateIn(clock.now(), 90) })).status).toBe(
      403,
    );
    expect((await post(adas, `/admin/people/${own}/grace/end`)).status).toBe(403);
    expect((await userOf(people.ada!)).tfaGraceUntil).toBeNull();
  });

  it('ends one person’s grace at once: their next sign-in enrols and prompt=none needs interaction', async () => {
    const bob = people.bob!;
    const bobs = new Agent();
    await signInLater(bobs, bob);
    expect((await silently(bobs)).get('code')).toBeTruthy();

    const browser = await freshAdmin();
    expect(redirect(await post(browser, `/admin/people/${bob.seeded.user.id}/grace/end`))).toBe(
      `303 /admin/people/${bob.seeded.user.id}?done=grace_ended`,
    );
    expect(await eventsOf(bob, 'tfa.grace_ended')).toHaveLength(1);
    expect((await silently(bobs)).get('error')).toBe('interaction_required');
    const { page: next } = await passwordStep(new Agent(), bob);
    expect(next.url.pathname).toMatch(/\/enrol$/);
    expect(await page(browser, '/admin/people?q=bob')).toMatch(/bob@acme\.example[^]*Required, not set up yet/);
  });

  it("after the organization's deadline everyone without a method enrols first; who joined later has longer", async () => {
    const dave = await member('dave@acme.example');
    const joined = (await userOf(dave)).createdAt;
    clock.advance(enforcedAt + 14 * DAY - clock.now() + 60_000);

    // Ada's session from three days in still lives, but no longer serves prompt=none.
    expect((await silently(adasLaterAgent)).get('error')).toBe('interaction_required');
    const adas = new Agent();
    const { page: forced } = await passwordStep(adas, people.ada!);
    expect(forced.url.pathname).toMatch(/\/enrol$/);
    // "Not now" is refused to a sign-in that is past the grace step, even posted by hand.
    const csrf = /name="_csrf" value="([^"]+)"/.exec(await forced.response.text())![1]!;
    const later = new URL(forced.url.pathname.replace(/\/enrol$/, '/grace/later'), forced.url);
    expect((await adas.request(later, { form: { _csrf: csrf } })).status).toBe(400);

    const { page: daves } = await passwordStep(new Agent(), dave);
    expect(daves.url.pathname).toMatch(/\/grace$/);
    const left = Math.floor((joined + 14 * DAY) / DAY) - Math.floor(clock.now() / DAY);
    expect(await daves.response.text()).toContain(`(${left} days left)`);
  });
});
