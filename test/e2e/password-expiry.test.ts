import { DatabaseSync } from 'node:sqlite';
import path from 'node:path';
import * as oidc from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { Browser, createAccountDriver, type Member, type Page } from '../helpers/account-driver.ts';
import { readForm } from '../helpers/agent.ts';
import { createTestClock } from '../helpers/clock.ts';
import { authorizationRequest, discoverRp, exchange, type RelyingParty } from '../helpers/rp.ts';
import { seedClient } from '../helpers/seed.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

const DAY = 86_400_000;
const NEW_PASSWORD = 'violet harbour lantern 4417';

/**
 * Issue 9: an organization may make passwords expire (off by default, as NIST SP 800-63B advises).
 * A sign-in with an expired password asks for a new one after the second factor, never before,
 * and before the sign-in completes; app passwords keep working. The clock starts 140 days back so
 * that it stays behind real time.
 */
describe('password expiry', () => {
  const clock = createTestClock(Date.now() - 140 * DAY);
  let server: TestServer;
  let rp: RelyingParty;
  let ada: Member;
  /** A mail server (like Dovecot): password grant and introspection. */
  let mail: oidc.Configuration;
  const driver = createAccountDriver({ server: () => server, clock });

  beforeAll(async () => {
    server = await startTestServer('sqlite', { clock });
    rp = await discoverRp(
      server.issuer,
      await seedClient(server.app, { firstParty: true, redirectUri: `${server.issuer}/rp-callback` }),
    );
    ada = await driver.member('ada@acme.example');
    await driver.withFactors(ada);
    await server.app.services.organizations.updatePolicy(
      ada.seeded.org,
      { passwordMaxAgeDays: 90 },
      { userId: 'test', ip: '::1' },
    );
    const { secret } = await server.app.services.clients.registerClient({
      clientId: 'dovecot',
      grants: ['password'],
      authMethod: 'client_secret_post',
      introspection: true,
    });
    mail = await oidc.discovery(new URL(server.issuer), 'dovecot', secret!, oidc.ClientSecretPost(secret!), {
      execute: [oidc.allowInsecureRequests],
    });
  });
  afterAll(async () => server?.close());

  const go = async (b: Browser, target: URL): Promise<Page> => b.follow(await b.request(target), target);

  async function submit(b: Browser, page: Page, action: RegExp, fields: Record<string, string>): Promise<Page> {
    const form = readForm(await page.response.text(), action);
    const target = new URL(form.action, page.url);
    return b.follow(await b.request(target, { form: { _csrf: form.csrf, ...fields } }), target);
  }

  /** Password, then the authenticator code: where the sign-in lands next. */
  async function signInUpToSecondStep(b: Browser, m: Member) {
    const request = await authorizationRequest(rp, { scope: 'openid' });
    const login = await go(b, request.url);
    const verify = await submit(b, login, /\/login$/, { email: m.seeded.user.email, password: m.password });
    expect(verify.url.pathname).toMatch(/^\/interaction\/[^/]+\/verify$/);
    return { request, verify };
  }

  const totpId = async (m: Member) => (await driver.factorsOf(m)).find((f) => f.kind === 'totp')!.id;
  const secondStep = async (b: Browser, m: Member, verify: Page) =>
    submit(b, verify, /\/verify\/totp$/, { factorId: await totpId(m), code: driver.nextCode(m) });

  function auditOf(m: Member): { type: string; detail: string }[] {
    const db = new DatabaseSync(path.join(server.environment.config.dataDir, 'twofold.db'), { readOnly: true });
    try {
      return db
        .prepare('select type, detail from audit_events where user_id = ? order by at')
        .all(m.seeded.user.id) as { type: string; detail: string }[];
    } finally {
      db.close();
    }
  }

  it('lets a password younger than the period through without a word', async () => {
    clock.advance(89 * DAY);
    const browser = new Browser();
    const { request, verify } = await signInUpToSecondStep(browser, ada);
    const landed = await secondStep(browser, ada, verify);
    expect(landed.url.pathname).toBe('/rp-callback');
    expect((await exchange(rp, landed.url, request)).claims()!.amr).toContain('mfa');
  });

  it('keeps app passwords working once the account password has expired', async () => {
    clock.advance(2 * DAY);
    const { password } = await server.app.services.appPasswords.create(
      driver.person(ada),
      ada.seeded.org,
      true,
      { name: 'Thunderbird', scopes: ['imap'] },
      '127.0.0.1',
    );
    const tokens = await oidc.genericGrantRequest(mail, 'password', { username: ada.seeded.user.email, password });
    expect((await oidc.tokenIntrospection(mail, tokens.access_token)).active).toBe(true);
  });

  it('asks for a new password after the second factor, never before, and only then completes the sign-in', async () => {
    const browser = new Browser();
    const { request, verify } = await signInUpToSecondStep(browser, ada);
    // Before the second factor there is nothing to change: the page does not exist for this sign-in yet.
    const early = await browser.request(new URL(verify.url.pathname.replace(/verify$/, 'password'), verify.url));
    expect(early.status).toBe(400);
    const change = await secondStep(browser, ada, verify);
    expect(change.url.pathname).toMatch(/^\/interaction\/[^/]+\/password$/);
    const html = await change.response.clone().text();
    expect(html).toContain('Choose a new password');
    expect(html).toContain('Acme Corp asks for a new password every 90 days');
    expect(html).toMatch(/<span class="brand-name">Acme Corp<\/span>/);
    // No session exists while the new password is not chosen.
    const silent = await authorizationRequest(rp, { scope: 'openid', prompt: 'none' });
    expect((await go(browser, silent.url)).url.searchParams.get('error')).toBe('login_required');

    const refusals: [Record<string, string>, RegExp][] = [
      [{ password: NEW_PASSWORD, confirm: 'something else' }, /id="confirm-error" role="alert">The two passwords/],
      [
        { password: ada.password, confirm: ada.password },
        /id="password-error" role="alert">The new password must differ/,
      ],
      [{ password: 'short', confirm: 'short' }, /id="password-error" role="alert">Use at least 15 characters/],
    ];
    let page = change;
    for (const [fields, message] of refusals) {
      page = await submit(browser, page, /\/password$/, fields);
      expect(page.response.status).toBe(400);
      expect(await page.response.clone().text()).toMatch(message);
    }
    const landed = await submit(browser, page, /\/password$/, { password: NEW_PASSWORD, confirm: NEW_PASSWORD });
    expect(landed.url.pathname).toBe('/rp-callback');
    expect((await exchange(rp, landed.url, request)).claims()!.amr).toContain('mfa');
    expect(
      auditOf(ada)
        .filter((e) => e.type === 'password.changed')
        .map((e) => JSON.parse(e.detail)),
    ).toEqual([{ reason: 'expired' }]);
  });

  it('signs in with the new password without asking again', async () => {
    ada.password = NEW_PASSWORD;
    const browser = new Browser();
    const { verify } = await signInUpToSecondStep(browser, ada);
    expect((await secondStep(browser, ada, verify)).url.pathname).toBe('/rp-callback');
  });

  it('stops an expired account password opening mail where the organization allows it (an app password would not expire)', async () => {
    const org = await server.app.services.organizations.createOrganization({
      slug: 'plain',
      legacyPasswordAccess: true,
    });
    await server.app.services.organizations.updatePolicy(
      org,
      { passwordMaxAgeDays: 30 },
      { userId: 'test', ip: '::1' },
    );
    const bo = await driver.member('bo@plain.example', 'plain');
    const signInToMail = () =>
      oidc.genericGrantRequest(mail, 'password', { username: bo.seeded.user.email, password: bo.password });
    expect((await signInToMail()).access_token).toBeTruthy();
    clock.advance(31 * DAY);
    await expect(signInToMail()).rejects.toMatchObject({ error: 'invalid_grant' });
  });
});
