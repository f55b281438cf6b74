import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { ACR_MFA } from '../../src/domain/authentication.ts';
import { createAccessCodeDriver } from '../helpers/access-code.ts';
import { Browser, createAccountDriver, type Member } from '../helpers/account-driver.ts';
import { Agent, readForm } from '../helpers/agent.ts';
import { createTestClock } from '../helpers/clock.ts';
import { discoverRp, exchange, type RelyingParty } from '../helpers/rp.ts';
import { seedClient } from '../helpers/seed.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { readOutboxEmails } from '../helpers/totp.ts';

/**
 * Temporary access codes through the real server: an administrator makes one on the console behind
 * a fresh sign-in (shown once), and a person who lost their method signs in with their password and
 * the code, must enrol a new method in the same sign-in, and gets acr mfa. Other organizations'
 * administrators are answered 404 and members 403. The clock runs two hours behind real time so
 * that oidc-provider sees every console sign-in as stale for max_age=300 (see account.test.ts).
 */
describe('temporary access codes from the admin console', () => {
  const clock = createTestClock(Date.now() - 7_200_000);
  let server: TestServer;
  let rp: RelyingParty;
  const accounts = createAccountDriver({ server: () => server, clock });
  const codes = createAccessCodeDriver({ server: () => server, rp: () => rp, clock, accounts });
  const { member, withFactors, signIn, post, open, page, redirect, factorsOf, url } = accounts;
  let admin: Member;
  let ada: Member;
  let bob: Member;
  let outsiderAdmin: Member;
  const adminBrowser = new Browser();

  beforeAll(async () => {
    server = await startTestServer('sqlite', { clock });
    rp = await discoverRp(server.issuer, await seedClient(server.app, { firstParty: true }));
    ada = await member('ada@acme.example');
    bob = await member('bob@acme.example');
    admin = await codes.adminOf('acme', 'grace@acme.example');
    outsiderAdmin = await codes.adminOf('other', 'olga@other.example');
    for (const m of [admin, ada, outsiderAdmin]) await withFactors(m);
    await signIn(adminBrowser, admin);
  });
  afterAll(async () => server?.close());

  const issuePath = (m: Member) => `/admin/people/${m.seeded.user.id}/access-code`;
  const personPage = (b: Browser, m: Member) => page(b, `/admin/people/${m.seeded.user.id}`);
  const trailOf = async (m: Member) =>
    (await server.app.services.people.describe(m.seeded.org, m.seeded.user.id)).events.map((e) => [e.type, e.actor]);

  it('asks the administrator to sign in again first when their sign-in is older than five minutes', async () => {
    clock.advance(301_000);
    const stale = await post(adminBrowser, issuePath(ada), { lifetime: '60' });
    expect(stale.status).toBe(303);
    expect(stale.headers.get('location')).toMatch(/^\/account\/login\?fresh=1&resume=/);
    expect(await trailOf(ada)).not.toContainEqual(['access_code.issued', 'grace@acme.example']);
  });

  it('shows a new code once with a copy button; the person page says until when, and that it works once', async () => {
    const fresh = await codes.freshAdmin(admin);
    expect(redirect(await post(fresh, issuePath(ada), { lifetime: '60' }))).toBe(`303 ${issuePath(ada)}`);
    const shown = await page(fresh, issuePath(ada));
    expect(shown).toMatch(/data-testid="access-code" id="access-code">[A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4}</);
    expect(shown).toContain('data-copy="access-code"');
    expect(shown).toContain('This is the only time it is shown.');
    const again = await page(fresh, issuePath(ada));
    expect(again).not.toContain('data-testid="access-code"');
    expect(again).toContain('This code was shown already.');

    const until = new Date(clock.now() + 3_600_000).toISOString().slice(0, 16).replace('T', ' ');
    expect(await personPage(fresh, ada)).toMatch(
      new RegExp(
        `Waiting</span> A code made by grace@acme\\.example works until <time[^>]*>${until} UTC</time>\\. It can be used once\\.`,
      ),
    );
    expect(await trailOf(ada)).toContainEqual(['access_code.issued', 'grace@acme.example']);
    await server.app.services.notices.settled();
    const email = readOutboxEmails(server.environment.config.dataDir).at(-1)!;
    expect(email).toMatchObject({
      to: 'ada@acme.example',
      subject: 'A temporary access code was made for your account',
    });
    expect(email.text).not.toMatch(/[A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4}/);
  });

  it('signs in with password and code, makes the person enrol a new method first, and issues acr mfa', async () => {
    const code = await codes.issue(await codes.freshAdmin(admin), ada);
    const agent = new Agent();
    const { request, page: second, uid } = await codes.passwordStep(agent, ada);
    expect(second.url.pathname).toBe(`/interaction/${uid}/verify`);
    expect(await second.response.text()).toMatch(
      /href="[^"]*\?method=access-code">Temporary access code \(from your administrator\)/,
    );

    const proven = await codes.submitCode(agent, uid, code.toLowerCase().replaceAll('-', ' '));
    expect(redirect(proven)).toBe(`303 /interaction/${uid}/enrol`);
    const enrol = await agent.follow(proven, url(`/interaction/${uid}/verify/access-code`));
    const enrolHtml = await enrol.response.clone().text();
    expect(enrolHtml).toContain('Your temporary access code worked');
    // The code alone ends nothing: the sign-in cannot finish before a new method is enrolled,
    // and the second step (where the old, lost method would go) is over.
    const { csrf } = readForm(enrolHtml, /\/enrol\/method\/[a-z-]+$/);
    expect((await agent.request(url(`/interaction/${uid}/enrol/finish`), { form: { _csrf: csrf } })).status).toBe(400);
    expect((await agent.request(url(`/interaction/${uid}/verify`))).status).toBe(400);

    const callback = await codes.enrolAndFinish(agent, enrol);
    const claims = (await exchange(rp, callback, request)).claims()!;
    expect(claims.acr).toBe(ACR_MFA);
    expect(claims.amr).toEqual(['pwd', 'otp', 'mfa']);
    expect((await factorsOf(ada)).filter((f) => f.active)).toHaveLength(2);
    expect(await trailOf(ada)).toEqual(
      expect.arrayContaining([
        ['access_code.used', null],
        ['tfa.enrolled', null],
        ['signin.succeeded', null],
      ]),
    );
  });

  it('lets the administrator revoke a waiting code, which then proves nothing', async () => {
    const fresh = await codes.freshAdmin(admin);
    const code = await codes.issue(fresh, ada);
    expect(redirect(await post(fresh, `${issuePath(ada)}/revoke`))).toBe(
      `303 /admin/people/${ada.seeded.user.id}?done=access-code-revoked`,
    );
    const after = await page(fresh, `/admin/people/${ada.seeded.user.id}?done=access-code-revoked`);
    expect(after).toContain('The temporary access code was revoked.');
    expect(after).not.toContain('Waiting');
    expect(await trailOf(ada)).toContainEqual(['access_code.revoked', 'grace@acme.example']);

    const agent = new Agent();
    const { uid } = await codes.passwordStep(agent, ada);
    expect(await codes.offered(agent, uid)).toBe(false);
    expect((await codes.submitCode(agent, uid, code)).status).toBe(401);
  });

  it("answers another organization's administrator 404 and a member 403, and makes no code", async () => {
    const outsider = await codes.freshAdmin(outsiderAdmin);
    const bobsBrowser = new Browser();
    await signIn(bobsBrowser, bob);
    const base = issuePath(ada);
    expect((await post(outsider, base, { lifetime: '60' })).status).toBe(404);
    expect((await open(outsider, base)).response.status).toBe(404);
    expect((await post(outsider, `${base}/revoke`)).status).toBe(404);
    expect((await post(outsider, '/admin/people/not-an-id/access-code', { lifetime: '60' })).status).toBe(404);
    expect((await post(bobsBrowser, base, { lifetime: '60' })).status).toBe(403);
    expect((await open(bobsBrowser, base)).response.status).toBe(403);
    expect((await post(bobsBrowser, `${base}/revoke`)).status).toBe(403);
    const fresh = await codes.freshAdmin(admin);
    expect(await personPage(fresh, ada)).not.toContain('Waiting');
    expect((await post(fresh, issuePath(outsiderAdmin), { lifetime: '60' })).status).toBe(404);
    expect(await trailOf(outsiderAdmin)).not.toContainEqual(['access_code.issued', 'grace@acme.example']);
  });

  it('refuses a lifetime outside 15 minutes to 24 hours with the reason, and makes no code', async () => {
    const fresh = await codes.freshAdmin(admin);
    for (const lifetime of ['14', '1441', 'soon']) {
      expect((await post(fresh, issuePath(bob), { lifetime })).status).toBe(400);
    }
    expect(await (await post(fresh, issuePath(bob), { lifetime: '5' })).text()).toContain('15 minutes to 24 hours');
    expect(await personPage(fresh, bob)).not.toContain('Waiting');
  });
});
