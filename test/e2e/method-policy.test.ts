import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { ACR_MFA } from '../../src/domain/authentication.ts';
import { Browser, createAccountDriver, type Member, type Page } from '../helpers/account-driver.ts';
import { Agent, readForm } from '../helpers/agent.ts';
import { createTestClock } from '../helpers/clock.ts';
import { factorDriver } from '../helpers/factors.ts';
import { authorizationRequest, discoverRp, exchange, open, submitLogin, type RelyingParty } from '../helpers/rp.ts';
import { PASSWORD, seedClient } from '../helpers/seed.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { readOutbox, secretFromUri, totpAt } from '../helpers/totp.ts';

/**
 * The organization's allowed methods (issue 9), driven through the console and the sign-in pages:
 * an administrator forbids text messages; sign-in and enrolment stop offering them, the account
 * page says so, and a person whose only method was a text message proves it once more and then
 * must set up an allowed one before any session. Where administrators must use phishing-resistant
 * methods, an administrator with an authenticator app alone is refused until they add a security
 * key (the key itself is registered in real Chromium: browser-method-policy.test.ts).
 */
describe('the methods an organization allows', () => {
  const clock = createTestClock(Date.now() - 3_600_000);
  let server: TestServer;
  let rp: RelyingParty;
  const driver = createAccountDriver({ server: () => server, clock });
  const { member, withFactors, signIn, post, page, redirect, person, nextCode } = driver;
  let admin: Member;
  let adminBrowser: Browser;
  /** Tom has an authenticator app and a text-message number; Sam a text-message number only. */
  let tom: Member;
  let sam: Member;
  const samsAccount = new Browser();
  const outbox = () => readOutbox(server.environment.config.dataDir);
  const smsKinds = ['sms'];

  async function adminOf(slug: string, email: string): Promise<Member> {
    const org = (await server.app.stores.organizations.findOrganizationBySlug(slug))!;
    const user = await server.app.services.accounts.createUser(org, { email, password: PASSWORD, role: 'admin' });
    return { seeded: { org, user, password: PASSWORD }, password: PASSWORD, secret: null, lastStep: 0 };
  }

  const orgOf = async (slug: string) => (await server.app.stores.organizations.findOrganizationBySlug(slug))!;

  /** Email and password at the relying party: the page that follows. */
  async function passwordStep(agent: Agent, m: Member) {
    const request = await authorizationRequest(rp);
    const login = await open(agent, request.url, rp.redirectUri);
    return { request, page: await submitLogin(agent, login, m.seeded.user.email, PASSWORD, rp.redirectUri) };
  }

  /** Posts a form of the page and follows on, stopping at the client. */
  async function submit(agent: Agent, from: Page, html: string, action: RegExp, fields: Record<string, string> = {}) {
    const form = readForm(html, action);
    const target = new URL(form.action, from.url);
    const response = await agent.request(target, { form: { _csrf: form.csrf, ...fields } });
    return agent.follow(response, target, (next) => next.href.startsWith(rp.redirectUri));
  }

  /** At a second step showing a text-message method: ask for the code, then type it. */
  async function proveBySms(agent: Agent, step: Page, html: string, factorId: string) {
    const sent = await submit(agent, step, html, /\/verify\/[a-z]+\/challenge$/, { factorId });
    return submit(agent, sent, await sent.response.text(), /\/verify\/[a-z]+$/, {
      factorId,
      code: outbox().at(-1)!.code,
    });
  }

  async function smsFactor(m: Member, phone: string): Promise<string> {
    const factors = factorDriver(server.app);
    const { factorId } = await factors.beginPhone(person(m), 'sms', phone, 'Work phone', 'seed', '203.0.113.9');
    expect((await factors.confirmPhone(person(m), 'sms', factorId, outbox().at(-1)!.code, 'seed')).ok).toBe(true);
    return factorId;
  }

  beforeAll(async () => {
    server = await startTestServer('sqlite', { clock });
    rp = await discoverRp(server.issuer, await seedClient(server.app, { firstParty: true }));
    tom = await member('tom@acme.example');
    sam = await member('sam@acme.example');
    admin = await adminOf('acme', 'grace@acme.example');
    await withFactors(admin);
    await withFactors(tom, '+14155550111');
    await smsFactor(sam, '+14155550122');
    adminBrowser = new Browser();
    await signIn(adminBrowser, admin);
    // Sam signs in to his account with a text message while the organization still allows it.
    const start = await driver.open(samsAccount, '/account');
    const step = await submit(samsAccount, start, await start.response.text(), /\/login$/, {
      email: sam.seeded.user.email,
      password: PASSWORD,
    });
    const html = await step.response.text();
    const landed = await proveBySms(samsAccount, step, html, /name="factorId" value="([^"]+)"/.exec(html)![1]!);
    expect(landed.url.pathname).toBe('/account');
  });
  afterAll(async () => server?.close());

  it('lists every method of the registry as a box to tick, with who must resist phishing', async () => {
    const html = await page(adminBrowser, '/admin/security');
    for (const factor of server.app.factors.registry.all().filter((f) => f.enrolment)) {
      expect(html).toMatch(
        new RegExp(`id="allow-${factor.kind}" name="allowedMethods" value="${factor.kind}" checked`),
      );
      expect(html).toContain(factor.name);
    }
    expect(html).not.toContain('id="allow-recovery"');
    expect(html).toMatch(/id="resistant-none" name="phishingResistant" value="none" checked/);
    expect(html).toMatch(/id="tfaGraceDays"[^>]*value="0"/);
  });

  it('checks the method settings and says what is wrong next to the field, saving nothing', async () => {
    const cases: Array<[string, Record<string, string | string[]>, RegExp]> = [
      ['/methods', { phishingResistant: 'none' }, /id="allowedMethods-error" role="alert">Allow at least one method/],
      [
        '/methods',
        { allowedMethods: ['totp', 'carrier-pigeon'], phishingResistant: 'none' },
        /id="allowedMethods-error" role="alert">Unknown method: carrier-pigeon\./,
      ],
      [
        '/methods',
        { allowedMethods: ['totp', 'sms'], phishingResistant: 'admins' },
        /id="phishingResistant-error" role="alert">None of the allowed methods resists phishing\./,
      ],
      ['/methods', { allowedMethods: 'totp', phishingResistant: 'sometimes' }, /id="phishingResistant-error"/],
      ['/grace', { tfaGraceDays: '91' }, /id="tfaGraceDays-error" role="alert">Use 0 to 90 days\./],
      ['/grace', { tfaGraceDays: 'two weeks' }, /id="tfaGraceDays-error" role="alert">Use 0 to 90 days\./],
    ];
    for (const [path, fields, message] of cases) {
      const response = await post(adminBrowser, `/admin/security${path}`, fields);
      expect(response.status, JSON.stringify(fields)).toBe(400);
      expect(await response.text()).toMatch(message);
    }
    // What was sent is shown again: the boxes as ticked, the choice as made.
    const again = await post(adminBrowser, '/admin/security/methods', {
      allowedMethods: 'totp',
      phishingResistant: 'admins',
    });
    const html = await again.text();
    expect(html).toMatch(/id="allow-totp" name="allowedMethods" value="totp" checked/);
    expect(html).toMatch(/id="allow-webauthn" name="allowedMethods" value="webauthn">/);
    expect(html).toMatch(/id="resistant-admins" name="phishingResistant" value="admins" checked/);
    expect(await orgOf('acme')).toMatchObject({ allowedMethods: null, phishingResistant: 'none', tfaGraceDays: 0 });
  });

  it('refuses members (403) and asks for a fresh sign-in when the last one is older than five minutes', async () => {
    const toms = new Browser();
    await signIn(toms, tom);
    expect(
      (await post(toms, '/admin/security/methods', { allowedMethods: 'totp', phishingResistant: 'none' })).status,
    ).toBe(403);
    expect((await post(toms, '/admin/security/grace', { tfaGraceDays: '30' })).status).toBe(403);
    clock.advance(301_000);
    const stale = await post(adminBrowser, '/admin/security/methods', { phishingResistant: 'everyone' });
    expect(stale.headers.get('location')).toMatch(/^\/account\/login\?fresh=1&resume=/);
    expect((await orgOf('acme')).phishingResistant).toBe('none');
  });

  it('forbids text messages, and records what changed', async () => {
    adminBrowser = new Browser();
    await signIn(adminBrowser, admin);
    const allowed = server.app.factors.registry
      .all()
      .filter((f) => f.enrolment && !smsKinds.includes(f.kind))
      .map((f) => f.kind);
    const saved = await post(adminBrowser, '/admin/security/methods', {
      allowedMethods: allowed,
      phishingResistant: 'none',
    });
    expect(redirect(saved)).toBe('303 /admin/security?done=methods');
    expect((await orgOf('acme')).allowedMethods).toEqual(allowed);
    const html = await page(adminBrowser, '/admin/security?done=methods');
    expect(html).toContain('The allowed methods were saved.');
    expect(html).toMatch(/id="allow-sms" name="allowedMethods" value="sms">/);
    const events = (await server.app.services.people.describe(admin.seeded.org, admin.seeded.user.id)).events;
    expect(events.find((e) => e.type === 'org.policy_changed')?.detail).toEqual({
      changes: { allowedMethods: { from: null, to: allowed } },
    });
  });

  it('no longer offers a forbidden method at sign-in, nor to add, and the account page says so', async () => {
    const agent = new Agent();
    const { request, page: step } = await passwordStep(agent, tom);
    const html = await step.response.text();
    expect(html).not.toMatch(/Text message|Work phone/);
    expect(html).toContain('Recovery code');
    const uid = step.url.pathname.split('/')[2]!;
    const smsId = (await driver.factorsOf(tom)).find((f) => f.kind === 'sms')!.id;
    const refused = await agent.request(new URL(`/interaction/${uid}/verify/sms/challenge`, server.issuer), {
      form: { _csrf: readForm(html, /\/verify\/totp$/).csrf, factorId: smsId },
    });
    expect(refused.status).toBe(400);
    expect(outbox().filter((m) => m.to === '+14155550111')).toHaveLength(1);
    const totpId = (await driver.factorsOf(tom)).find((f) => f.kind === 'totp')!.id;
    const landed = await submit(agent, step, html, /\/verify\/totp$/, { factorId: totpId, code: nextCode(tom) });
    expect((await exchange(rp, landed.url, request)).claims()!.acr).toBe(ACR_MFA);

    const toms = new Browser();
    const account = await signIn(toms, tom);
    expect(account).toBeTruthy();
    const settings = await page(toms, '/account/two-factor');
    expect(settings).toMatch(/Work phone[^]*Not allowed by your organization/);
    expect(settings).not.toContain('/account/two-factor/method/sms"');
    expect(settings).toContain('/account/two-factor/method/totp"');
    const adding = await post(toms, '/account/two-factor/method/sms', { phone: '+14155550133' });
    expect(adding.status).toBe(400);
    expect(outbox().filter((m) => m.to === '+14155550133')).toEqual([]);
  });

  it('makes someone whose only method is forbidden prove it once more, then set up an allowed one', async () => {
    // Sam's existing session no longer serves sign-ins without interaction.
    const silentResult = await driver.silentSignIn(samsAccount);
    expect(silentResult.get('error')).toBe('interaction_required');
    expect(await page(samsAccount, '/account/two-factor')).toMatch(
      /no longer allows the methods you have[^]*Not allowed by your organization/,
    );

    const agent = new Agent();
    const { request, page: step } = await passwordStep(agent, sam);
    const html = await step.response.text();
    expect(html).toContain('no longer allows the methods you have set up');
    const smsId = /name="factorId" value="([^"]+)"/.exec(html)![1]!;
    const enrol = await proveBySms(agent, step, html, smsId);
    expect(enrol.url.pathname).toMatch(/\/enrol$/);
    const enrolHtml = await enrol.response.text();
    expect(enrolHtml).toContain('no longer allows the methods you had');
    expect(enrolHtml).not.toMatch(/\/enrol\/method\/sms"/);
    const uid = enrol.url.pathname.split('/')[2]!;
    const csrf = readForm(enrolHtml, /\/enrol\/method\/totp$/).csrf;
    const forbidden = await agent.request(new URL(`/interaction/${uid}/enrol/method/sms`, server.issuer), {
      form: { _csrf: csrf, phone: '+14155550144' },
    });
    expect(forbidden.status).toBe(400);

    const qr = await submit(agent, enrol, enrolHtml, /\/enrol\/method\/totp$/);
    const qrHtml = await qr.response.text();
    const key = /data-testid="manual-key">([A-Z2-7 ]+)</.exec(qrHtml)![1]!;
    const secret = secretFromUri(`otpauth://totp/x?secret=${key.replaceAll(' ', '')}`);
    const codes = await submit(agent, qr, qrHtml, /\/enrol\/method\/totp\/confirm$/, {
      factorId: /name="factorId" value="([^"]+)"/.exec(qrHtml)![1]!,
      code: totpAt(secret, clock.now() / 1000),
    });
    const done = await submit(agent, codes, await codes.response.text(), /\/enrol\/finish$/);
    const claims = (await exchange(rp, done.url, request)).claims()!;
    expect(claims.acr).toBe(ACR_MFA);
    expect(claims.amr).toEqual(['pwd', 'sms', 'otp', 'mfa']);
    expect(
      (await driver.factorsOf(sam))
        .filter((f) => f.active)
        .map((f) => f.kind)
        .sort(),
    ).toEqual(['sms', 'totp']);
  });

  it('refuses an administrator an authenticator app alone where administrators must resist phishing', async () => {
    const strict = await server.app.services.organizations.createOrganization({ slug: 'strict', name: 'Strict' });
    await server.app.services.organizations.updatePolicy(
      strict,
      { phishingResistant: 'admins' },
      {
        userId: 'test',
        ip: '127.0.0.1',
      },
    );
    const kim = await adminOf('strict', 'kim@strict.example');
    await withFactors(kim);
    const mia = await member('mia@strict.example', 'strict');
    await withFactors(mia);

    // Mia, a member, signs in with her authenticator app as before.
    const miasAgent = new Agent();
    const mias = await passwordStep(miasAgent, mia);
    const miaHtml = await mias.page.response.text();
    const miaTotp = (await driver.factorsOf(mia)).find((f) => f.kind === 'totp')!.id;
    const miaDone = await submit(miasAgent, mias.page, miaHtml, /\/verify\/totp$/, {
      factorId: miaTotp,
      code: nextCode(mia),
    });
    expect(miaDone.url.href.startsWith(rp.redirectUri)).toBe(true);

    // Kim proves her app, but no session follows: she must add a phishing-resistant method.
    const agent = new Agent();
    const { page: step } = await passwordStep(agent, kim);
    const html = await step.response.text();
    expect(html).toContain('no longer allows the methods you have set up');
    const totpId = (await driver.factorsOf(kim)).find((f) => f.kind === 'totp')!.id;
    const enrol = await submit(agent, step, html, /\/verify\/totp$/, { factorId: totpId, code: nextCode(kim) });
    expect(enrol.url.pathname).toMatch(/\/enrol$/);
    const enrolHtml = await enrol.response.text();
    expect(enrolHtml).toContain('data-options-url="/interaction/');
    expect(enrolHtml).toMatch(/\/enrol\/method\/webauthn"/);
    expect(enrolHtml).not.toMatch(/\/enrol\/method\/(totp|sms|voice)"/);
    const uid = enrol.url.pathname.split('/')[2]!;
    const csrf = /data-csrf="([^"]+)"/.exec(enrolHtml)![1]!;
    const another = await agent.request(new URL(`/interaction/${uid}/enrol/method/totp`, server.issuer), {
      form: { _csrf: csrf },
    });
    expect(another.status).toBe(400);
    // Her password and app alone do not answer prompt=none either.
    const silent = await authorizationRequest(rp, { prompt: 'none' });
    expect((await open(agent, silent.url, rp.redirectUri)).url.searchParams.get('error')).toBe('login_required');
  });
});
