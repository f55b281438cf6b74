import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { Browser, browserOn, createAccountDriver, USER_AGENTS, type Member } from '../helpers/account-driver.ts';
import { activityRows, personOf, typePassword } from '../helpers/activity.ts';
import { readForm } from '../helpers/agent.ts';
import { inProcessCli } from '../helpers/cli.ts';
import { createTestClock } from '../helpers/clock.ts';
import { PASSWORD } from '../helpers/seed.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

interface Recorded {
  time: string;
  event: string;
  person: { id: string; email: string | null } | null;
  by: string | null;
  address: string | null;
  userAgent: string | null;
  requestId: string | null;
  detail: Record<string, unknown>;
}

/**
 * What the audit trail must hold after an attack or a change (issue 9): every wrong password and
 * code with the method, the throttle's refusals, the factor each sign-in used, step-ups, policy
 * changes with what changed, and the administrator (or the command line) named as the actor; each
 * with the request's address, browser and id. Read back through the console's JSON Lines export.
 */
describe('the audit trail of attacks and changes', () => {
  const clock = createTestClock(Date.now() - 3_600_000);
  let server: TestServer;
  const driver = createAccountDriver({ server: () => server, clock });
  const { open, page, url, post, redirect, withFactors, signIn, authenticate, factorsOf, nextCode } = driver;
  let grace: Member;
  let ada: Member;
  let bob: Member;
  let cy: Member;
  const graceBrowser = new Browser();

  /** The person's events, newest first, as the export writes them (Grace's own exports left out). */
  async function trailOf(m: Member): Promise<Recorded[]> {
    const query = new URLSearchParams({ format: 'jsonl', person: m.seeded.user.email });
    const text = await (await graceBrowser.request(url(`/admin/activity/export?${query}`))).text();
    return text
      .trimEnd()
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as Recorded)
      .filter((e) => e.event !== 'audit.exported');
  }
  const eventsOf = async (m: Member, type: string) => (await trailOf(m)).filter((e) => e.event === type);

  beforeAll(async () => {
    server = await startTestServer('sqlite', { clock });
    clock.tickOnRead(1);
    const app = server.app;
    grace = await personOf(app, { slug: 'acme', email: 'grace@acme.example', name: 'Grace Hopper', role: 'admin' });
    ada = await personOf(app, { slug: 'acme', email: 'ada@acme.example', name: 'Ada Lovelace' });
    bob = await personOf(app, { slug: 'acme', email: 'bob@acme.example', name: 'Bob Byte' });
    cy = await personOf(app, { slug: 'acme', email: 'cy@acme.example', name: 'Cy Pher' });
    await withFactors(grace);
    await withFactors(ada, '+14155550101');
    await withFactors(bob);
    await signIn(graceBrowser, grace);
  });
  afterAll(async () => server?.close());

  it('records each wrong password with the method, then the throttle refusing the next try, with the request', async () => {
    const attacker = browserOn(USER_AGENTS.chromeOnWindows);
    for (let i = 0; i < 5; i++)
      expect((await typePassword(open, attacker, cy.seeded.user.email, `guess-${i}`)).status).toBe(401);
    const refused = await typePassword(open, attacker, cy.seeded.user.email, PASSWORD);
    expect(refused.status).toBe(429);
    // The refusals that follow within the minute are not written again: a flood cannot flood the trail.
    for (let i = 0; i < 3; i++)
      expect((await typePassword(open, attacker, cy.seeded.user.email, 'x')).status).toBe(429);
    const [throttled, ...rest] = await trailOf(cy);
    expect(rest.filter((e) => e.event === 'signin.throttled')).toEqual([]);
    expect(throttled).toMatchObject({
      event: 'signin.throttled',
      person: { email: 'cy@acme.example' },
      by: null,
      address: expect.stringMatching(/127\.0\.0\.1/),
      userAgent: USER_AGENTS.chromeOnWindows,
      requestId: refused.headers.get('x-request-id'),
      detail: { method: 'password', retryAfterSeconds: 1, concurrent: false },
    });
    const failures = rest.filter((e) => e.event === 'signin.password_failed');
    expect(failures).toHaveLength(5);
    expect(failures.every((e) => e.detail.method === 'password' && e.userAgent === USER_AGENTS.chromeOnWindows)).toBe(
      true,
    );
    expect(JSON.stringify(rest)).not.toContain('guess-');
    const html = await page(graceBrowser, '/admin/activity?person=cy%40acme.example&kind=failures');
    expect(activityRows(html)[0]!['What happened']).toBe(
      'Sign-in attempt held back after too many failures (password; next try in 1 second)',
    );
  });

  it('records wrong codes and the throttle on the second step with the method, and the factor a sign-in used', async () => {
    const b = new Browser();
    const afterPassword = await typePassword(open, b, ada.seeded.user.email, PASSWORD);
    const step = await b.follow(afterPassword, url('/'));
    const csrf = readForm(await step.response.text(), /\/verify\/[a-z]+(\/challenge)?$/).csrf;
    const totp = (await factorsOf(ada)).find((f) => f.kind === 'totp')!;
    const tryCode = (code: string) =>
      b.request(new URL(`${step.url.pathname}/totp`, step.url), { form: { _csrf: csrf, factorId: totp.id, code } });
    for (let i = 0; i < 5; i++) expect((await tryCode('000000')).status).toBe(401);
    expect((await tryCode(nextCode(ada))).status).toBe(429);
    const trail = await trailOf(ada);
    expect(trail[0]).toMatchObject({
      event: 'signin.throttled',
      detail: { method: 'totp', retryAfterSeconds: 1, concurrent: false },
    });
    const wrong = trail.filter((e) => e.event === 'signin.second_factor_failed');
    expect(wrong.map((e) => e.detail)).toEqual(Array(5).fill({ method: 'totp', reason: 'invalid' }));

    const codes = await server.app.factors.recovery.regenerate(driver.person(ada));
    // The throttle's delay after five failures is a second.
    clock.advance(2000);
    const later = new Browser();
    const second = await later.follow(await typePassword(open, later, ada.seeded.user.email, PASSWORD), url('/'));
    const recoveryCsrf = readForm(await second.response.text(), /\/verify\/[a-z]+(\/challenge)?$/).csrf;
    await later.request(new URL(`${second.url.pathname}/recovery`, second.url), {
      form: { _csrf: recoveryCsrf, factorId: 'recovery', code: codes[0]! },
    });
    const [signedIn, used] = await trailOf(ada);
    expect(signedIn).toMatchObject({ event: 'signin.succeeded', detail: { method: 'recovery', amr: ['otp'] } });
    expect(used).toMatchObject({ event: 'recovery_code.used', userAgent: USER_AGENTS.firefoxOnLinux });
  });

  it('records a step-up before a sensitive change, and the change with who made it', async () => {
    clock.advance(301_000);
    const stale = await post(graceBrowser, '/admin/security/enforcement', { to: 'on' });
    expect(redirect(stale)).toMatch(/^303 \/account\/login\?fresh=1&resume=/);
    const { page: resumed } = await authenticate(
      graceBrowser,
      grace,
      await open(graceBrowser, stale.headers.get('location')!),
    );
    const form = readForm(await resumed.response.text(), /^\/admin\/security\/enforcement$/);
    const done = await graceBrowser.request(url(form.action), { form: { _csrf: form.csrf, to: 'on' } });
    expect(redirect(done)).toBe('303 /admin/security?done=on');
    const [enforced, stepUp] = await trailOf(grace);
    expect(enforced).toMatchObject({ event: 'org.tfa_enforced', person: { email: 'grace@acme.example' }, by: null });
    expect(stepUp).toMatchObject({
      event: 'stepup.succeeded',
      detail: { action: '/admin/security/enforcement', acr: 'urn:twofold:acr:mfa', amr: ['pwd', 'otp', 'mfa'] },
      requestId: expect.any(String),
      userAgent: USER_AGENTS.firefoxOnLinux,
    });
  });

  it('records what a policy change changed, from what to what, and nothing when nothing changed', async () => {
    for (let i = 0; i < 2; i++)
      await post(graceBrowser, '/admin/security/settings', { trustedBrowserDays: '7', passwordMinLength: '12' });
    const changes = await eventsOf(grace, 'org.policy_changed');
    expect(changes.map((e) => e.detail)).toEqual([
      { changes: { passwordMinLength: { from: null, to: 12 }, trustedBrowserDays: { from: 30, to: 7 } } },
    ]);
    const html = await page(graceBrowser, '/admin/activity?kind=administration&person=grace');
    expect(html).toContain(
      'Organization security settings changed (password min length: default → 12; trusted browser days: 30 → 7)',
    );
  });

  it("names the administrator as the actor of what they do to someone's account", async () => {
    await server.app.services.appPasswords.create(
      driver.person(ada),
      ada.seeded.org,
      true,
      { name: 'Mail', scopes: ['imap'] },
      '127.0.0.1',
    );
    expect(redirect(await post(graceBrowser, `/admin/people/${ada.seeded.user.id}/reset-tfa`))).toMatch(/^303 /);
    const [revoked, reset] = await trailOf(ada);
    expect(reset).toMatchObject({ event: 'tfa.reset', by: 'grace@acme.example', detail: { by: 'grace@acme.example' } });
    expect(revoked).toMatchObject({ event: 'app_password.revoked', by: 'grace@acme.example' });
    const rows = activityRows(await page(graceBrowser, '/admin/activity?person=ada%40acme.example&kind=two_step'));
    expect(rows[0]).toMatchObject({
      'What happened': 'Two-step verification reset by an administrator',
      Person: 'Ada Lovelace ada@acme.example',
      By: 'grace@acme.example',
    });
  });

  it('names the command line as the actor of a change made on the server', async () => {
    const cli = inProcessCli(server.environment.config.dataDir);
    expect((await cli(['org', 'update', 'acme', '--trusted-browser-days', '9'])).code).toBe(0);
    const rows = activityRows(await page(graceBrowser, '/admin/activity?kind=administration'));
    expect(rows[0]).toMatchObject({
      'What happened': 'Organization security settings changed (trusted browser days: 7 → 9)',
      Person: '—',
      By: 'Command line',
      Address: '—',
    });
  });
});

/**
 * With the provider's clock and ours agreeing (real time), a sign-in younger than max_age is
 * answered without authenticating again: that is no step-up, and none is recorded.
 */
describe('a step-up that needed no new sign-in', () => {
  const clock = createTestClock();
  let server: TestServer;
  const driver = createAccountDriver({ server: () => server, clock });
  afterAll(async () => server?.close());

  it('is not recorded as one', async () => {
    server = await startTestServer('sqlite', { clock });
    const grace = await personOf(server.app, {
      slug: 'acme',
      email: 'grace@acme.example',
      name: 'Grace',
      role: 'admin',
    });
    await driver.withFactors(grace);
    const b = new Browser();
    await driver.signIn(b, grace);
    const again = await driver.open(b, '/account/login?fresh=1&return_to=/admin/activity');
    expect(again.url.pathname).toBe('/admin/activity');
    expect(activityRows(await again.response.text()).map((r) => r['What happened'])).not.toContain(
      'Identity confirmed again for a sensitive change',
    );
  });
});
