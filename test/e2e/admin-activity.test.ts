import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { Browser, browserOn, createAccountDriver, USER_AGENTS, type Member } from '../helpers/account-driver.ts';
import { activityRows, activityTimes, linkNamed, personOf, typePassword } from '../helpers/activity.ts';
import { createTestClock } from '../helpers/clock.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

/**
 * Console → Activity and My Account → Activity through the real server: every column, the filters
 * (person, kind of event, dates) and paging both ways; members refused (403) and another
 * organization's events never shown; a person sees their own events only; the admin's person page
 * shows where someone is signed in. The clock starts an hour back (see account.test.ts).
 */
describe('the activity pages', () => {
  const clock = createTestClock(Date.now() - 3_600_000);
  let server: TestServer;
  const driver = createAccountDriver({ server: () => server, clock });
  const { open, page, withFactors, signIn } = driver;
  let grace: Member;
  let ada: Member;
  let bob: Member;
  let oscar: Member;
  const [graceBrowser, adaBrowser, bobBrowser, oscarBrowser] = [
    new Browser(),
    browserOn(USER_AGENTS.chromeOnWindows),
    new Browser(),
    new Browser(),
  ];
  /** The X-Request-Id of Ada's wrong password, typed from a stranger's Safari. */
  let wrongPasswordRequest: string;

  beforeAll(async () => {
    server = await startTestServer('sqlite', { clock });
    // Every event at an instant of its own, so that the order the pages show is the order things happened.
    clock.tickOnRead(1);
    const app = server.app;
    grace = await personOf(app, { slug: 'acme', email: 'grace@acme.example', name: 'Grace Hopper', role: 'admin' });
    ada = await personOf(app, { slug: 'acme', email: 'ada@acme.example', name: 'Ada Lovelace' });
    bob = await personOf(app, { slug: 'acme', email: 'bob@acme.example', name: 'Bob Byte' });
    oscar = await personOf(app, { slug: 'globex', email: 'oscar@globex.example', name: 'Oscar Admin', role: 'admin' });
    for (const m of [grace, ada, oscar]) await withFactors(m);
    await signIn(graceBrowser, grace);
    await signIn(adaBrowser, ada, true);
    await signIn(bobBrowser, bob);
    await signIn(oscarBrowser, oscar);
    clock.advance(1000);
    const refused = await typePassword(open, browserOn(USER_AGENTS.safariOnMacos), ada.seeded.user.email, 'not it');
    expect(refused.status).toBe(401);
    wrongPasswordRequest = refused.headers.get('x-request-id')!;
    await typePassword(open, new Browser(), oscar.seeded.user.email, 'not it either');
    // Sixty sign-ins of Bob's, a second apart: more than one page.
    for (let i = 0; i < 60; i++) {
      clock.advance(1000);
      await app.services.audit.record({
        type: 'signin.succeeded',
        orgId: bob.seeded.org.id,
        userId: bob.seeded.user.id,
        detail: { method: 'password', amr: ['pwd'] },
      });
    }
  });
  afterAll(async () => server?.close());

  it('shows when, what, whom, by whom, from where, with which browser and in which request', async () => {
    const html = await page(graceBrowser, '/admin/activity?kind=failures');
    expect(html).toMatch(/<a href="\/admin\/activity" aria-current="page">Activity<\/a>/);
    const [row, ...others] = activityRows(html);
    expect(others).toEqual([]);
    expect(row).toEqual({
      'Time (UTC)': expect.stringMatching(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/),
      'What happened': 'Wrong password entered',
      Person: 'Ada Lovelace ada@acme.example',
      By: '—',
      Address: expect.stringMatching(/127\.0\.0\.1/),
      Browser: 'Safari 17 on macOS',
      'Request id': wrongPasswordRequest,
    });
    expect(activityTimes(html)[0]).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(html).toContain('Time (UTC)');
  });

  it('filters by person (email, or a piece of a name), kind of event and dates, and says what is wrong', async () => {
    const people = async (query: string) =>
      new Set(activityRows(await page(graceBrowser, `/admin/activity?${query}`)).map((r) => r.Person));
    expect(await people('person=ada%40acme.example')).toEqual(new Set(['Ada Lovelace ada@acme.example']));
    expect(await people('person=LOVELACE')).toEqual(new Set(['Ada Lovelace ada@acme.example']));
    expect(await people('person=ace')).toEqual(
      new Set(['Ada Lovelace ada@acme.example', 'Grace Hopper grace@acme.example']),
    );
    const signIns = activityRows(await page(graceBrowser, '/admin/activity?kind=signins&person=grace'));
    expect(signIns.map((r) => r['What happened'])).toEqual([
      'Signed in (Authenticator app)',
      'Correct password entered',
    ]);

    const today = new Date(clock.now()).toISOString().slice(0, 10);
    const tomorrow = new Date(clock.now() + 86_400_000).toISOString().slice(0, 10);
    expect(activityRows(await page(graceBrowser, `/admin/activity?from=${today}&to=${today}`))).toHaveLength(50);
    expect(await page(graceBrowser, `/admin/activity?from=${tomorrow}`)).toContain('No events match these filters.');
    const backwards = await open(graceBrowser, `/admin/activity?from=${tomorrow}&to=${today}`);
    expect(backwards.response.status).toBe(400);
    expect(await backwards.response.text()).toMatch(
      /aria-invalid="true" aria-describedby="to-error">\s*<p class="error" id="to-error" role="alert">The end date is before the start date\./,
    );
    const impossible = await open(graceBrowser, '/admin/activity?from=2031-02-30');
    expect(impossible.response.status).toBe(400);
    expect(await impossible.response.text()).toContain('id="from-error" role="alert">Enter a date like 2031-01-31.');
    // Junk in the other parameters is ignored, never a 500.
    const junk = await open(graceBrowser, '/admin/activity?kind=nope&before=1.x&after=&person=%25%5F');
    expect(junk.response.status).toBe(200);
  });

  it('pages through a long trail both ways, newest first, each event once, keeping the filters', async () => {
    const first = await page(graceBrowser, '/admin/activity?person=bob%40acme.example');
    const older = linkNamed(first, 'Older →')!;
    expect(older).toMatch(/^\/admin\/activity\?person=bob%40acme\.example&before=\d+\.[0-9a-f-]{36}$/);
    expect(linkNamed(first, '← Newer')).toBeNull();
    const second = await page(graceBrowser, older);
    const times = [...activityTimes(first), ...activityTimes(second)];
    // Sixty sign-ins, the account's creation and the sign-in through the pages (password only).
    expect(activityTimes(first)).toHaveLength(50);
    expect(times).toHaveLength(62);
    expect([...times].sort().reverse()).toEqual(times);
    expect(linkNamed(second, 'Older →')).toBeNull();
    expect(activityTimes(await page(graceBrowser, linkNamed(second, '← Newer')!))).toEqual(activityTimes(first));
    expect(linkNamed(second, 'Newest events')).toBe('/admin/activity?person=bob%40acme.example');
  });

  it('refuses members (403) and never shows another organization its events', async () => {
    for (const path of ['/admin/activity', '/admin/activity/export?format=csv'])
      expect((await open(bobBrowser, path)).response.status, path).toBe(403);
    const globex = activityRows(await page(oscarBrowser, '/admin/activity'));
    expect(new Set(globex.map((r) => r.Person))).toEqual(new Set(['Oscar Admin oscar@globex.example']));
    // Naming Acme's people exactly, or by a piece of their name, finds nothing from Globex.
    expect(await page(oscarBrowser, '/admin/activity?person=ada%40acme.example')).toContain('No events match');
    expect(await page(oscarBrowser, '/admin/activity?person=lovelace')).toContain('No events match');
    const acme = activityRows(await page(graceBrowser, '/admin/activity?kind=failures'));
    expect(acme.map((r) => r.Person)).toEqual(['Ada Lovelace ada@acme.example']);
  });

  it('shows a person their own events only, paged, from My Account', async () => {
    const html = await page(adaBrowser, '/account/activity');
    expect(html).toMatch(/<a href="\/account\/activity" aria-current="page">Activity<\/a>/);
    const rows = activityRows(html);
    expect(rows.map((r) => r['What happened'])).toEqual([
      'Wrong password entered',
      'Signed in (Authenticator app)',
      'Correct password entered',
      'Account created',
    ]);
    expect(rows[0]).not.toHaveProperty('Person');
    expect(rows[1]!.By).toBe('—');
    const bobs = await page(bobBrowser, '/account/activity');
    expect(activityRows(bobs)).toHaveLength(50);
    expect(bobs).not.toContain('Ada');
    expect(activityRows(await page(bobBrowser, linkNamed(bobs, 'Older →')!))).toHaveLength(12);
  });

  it("shows on the admin's person page where the person is signed in and which browsers they trust", async () => {
    const html = await page(graceBrowser, `/admin/people/${ada.seeded.user.id}`);
    expect(html).toMatch(
      /<h2>Where they are signed in<\/h2>\s*<ul class="items">\s*<li><div><strong>Chrome 128 on Windows 10<\/strong> <span class="muted">· Your Twofold account<\/span>/,
    );
    expect(html).toMatch(/127\.0\.0\.1 · signed in <time datetime="[^"]+">[^<]+ UTC<\/time>, last active <time/);
    expect(html).toMatch(/<h2>Trusted browsers<\/h2>[^]*<strong>Chrome 128 on Windows 10<\/strong>[^]*Trusted <time/);
    expect(linkNamed(html, 'See all of their activity')).toBe('/admin/activity?person=ada%40acme.example');
    const bobs = await page(graceBrowser, `/admin/people/${bob.seeded.user.id}`);
    expect(bobs).toContain('None: every sign-in asks for the second step.');
  });
});
