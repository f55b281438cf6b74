import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { Agent, readForm } from '../helpers/agent.ts';
import { Browser, createAccountDriver, type Member } from '../helpers/account-driver.ts';
import { createTestClock } from '../helpers/clock.ts';
import {
  authorizationRequest,
  discoverRp,
  open as openAt,
  signInForTokens,
  submitLogin,
  type RelyingParty,
} from '../helpers/rp.ts';
import { PASSWORD, seedClient, seedUser } from '../helpers/seed.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { readOutbox } from '../helpers/totp.ts';

const HINT = 'Your number as you would dial it in the country chosen, or in international format starting with\u00a0+.';
const refusal = (country: string) =>
  `That is not a valid number. Enter your number as you would dial it in the country chosen (${country}), or in international format starting with\u00a0+.`;

/**
 * Issue 8: phone numbers in national format, read in the organization's default country or the
 * one picked, through the real server: enrolment at sign-in, My Account, the console's setting
 * (behind step-up, audited), the admin API's `default_country`. The CLI: cli-default-country.test.ts.
 */
describe('phone numbers in national format, with a default country and a picker', () => {
  const clock = createTestClock(Date.now() - 3_600_000);
  let server: TestServer;
  let rp: RelyingParty;
  const driver = createAccountDriver({ server: () => server, clock });
  const { page, post, redirect, withFactors, signIn, factorsOf, nextCode } = driver;
  let admin: Member;
  const adminBrowser = new Browser();

  const org = async (slug: string) => (await server.app.stores.organizations.findOrganizationBySlug(slug))!;
  const lastMessage = () => readOutbox(server.environment.config.dataDir).at(-1)!;

  beforeAll(async () => {
    server = await startTestServer('sqlite', { clock });
    rp = await discoverRp(server.issuer, await seedClient(server.app, { firstParty: true }));
    const seeded = await seedUser(server.app, { slug: 'acme', email: 'grace@acme.example', role: 'admin' });
    admin = { seeded, password: PASSWORD, secret: null, lastStep: 0 };
    await withFactors(admin);
    await signIn(adminBrowser, admin);
    const brit = await seedUser(server.app, { slug: 'brit', email: 'founder@brit.example', enforceTfa: true });
    await server.app.services.organizations.updatePolicy(brit.org, { defaultCountry: 'GB' }, { userId: null });
  });
  afterAll(async () => server?.close());

  /** The enrolment step of a sign-in of a new member of an organization that requires two-step verification. */
  async function enrolmentAtSignIn(email: string) {
    const seeded = await seedUser(server.app, { slug: 'brit', email });
    const agent = new Agent();
    const request = await authorizationRequest(rp);
    const enrol = await submitLogin(
      agent,
      await openAt(agent, request.url, rp.redirectUri),
      email,
      PASSWORD,
      rp.redirectUri,
    );
    expect(enrol.url.pathname).toMatch(/\/enrol$/);
    const html = await enrol.response.text();
    const form = readForm(html, /\/enrol\/method\/sms$/);
    const send = (fields: Record<string, string>) =>
      agent.request(new URL(form.action, enrol.url), { form: { _csrf: form.csrf, ...fields } });
    return { seeded, html, send };
  }

  it("offers the organization's default country, and reads a national number in it at sign-in", async () => {
    const { seeded, html, send } = await enrolmentAtSignIn('ada@brit.example');
    // A labelled picker, defaulting to the organization's country; the number's hint tied to its field.
    expect(html).toMatch(/<label for="sms-country">Country<\/label>\s*<select id="sms-country" name="country"/);
    expect(html).toContain('<option value="GB" selected>United Kingdom (+44)</option>');
    expect(html).toContain('<option value="US">United States (+1)</option>');
    expect(html).not.toContain('None: I will type the number');
    expect(html).toContain(`<p class="hint" id="sms-phone-hint">${HINT}</p>`);
    expect(html).toMatch(/<input id="sms-phone"[^>]*aria-describedby="sms-phone-hint"/);

    const sent = await send({ country: 'GB', phone: '020 7946 0018' });
    expect(sent.status).toBe(200);
    const confirm = await sent.text();
    expect(confirm).toContain(
      'sent a text message to your number <strong class="phone-number">+44 •• •••• ••18</strong>',
    );
    expect(lastMessage()).toMatchObject({ channel: 'sms', to: '+442079460018' });
    // "Send a new code" posts the stored number again, in E.164: no country needed.
    expect(confirm).toContain('<input type="hidden" name="phone" value="+442079460018">');
    const [factor] = await server.app.factors.store.findFactors(seeded.org.id, seeded.user.id);
    expect(factor).toMatchObject({ kind: 'sms', phone: '+442079460018', active: false });
  });

  it('a form that sends no country reads the number in the default; one that picks none asks for +', async () => {
    const { send } = await enrolmentAtSignIn('bea@brit.example');
    expect((await send({ phone: '07911 123456' })).status).toBe(200);
    expect(lastMessage().to).toBe('+447911123456');
    const none = await send({ country: '', phone: '07911 123456' });
    expect(none.status).toBe(400);
    expect(await none.text()).toContain(`id="sms-phone-error" role="alert">${refusal('none is chosen')}</p>`);
  });

  it('refuses a number not valid in the country chosen, naming it, and shows what was typed and picked', async () => {
    const { send } = await enrolmentAtSignIn('cy@brit.example');
    const before = readOutbox(server.environment.config.dataDir).length;
    const refused = await send({ country: 'US', phone: '020 7946 001' });
    expect(refused.status).toBe(400);
    const html = await refused.text();
    expect(html).toMatch(
      new RegExp(
        `<input id="sms-phone"[^>]*value="020 7946 001"[^>]*aria-invalid="true"\\s*aria-describedby="sms-phone-hint sms-phone-error"`,
      ),
    );
    expect(html).toContain(`id="sms-phone-error" role="alert">${refusal('United States')}</p>`);
    expect(html).toContain('<option value="US" selected>United States (+1)</option>');
    expect(readOutbox(server.environment.config.dataDir).length).toBe(before);
  });

  it('an unknown country is a 400 with a message next to the picker, never a 500, and nothing is sent', async () => {
    const { seeded, send } = await enrolmentAtSignIn('dee@brit.example');
    const before = readOutbox(server.environment.config.dataDir).length;
    for (const country of ['XX', 'united kingdom', '"><script>', 'GB'.repeat(10)]) {
      const refused = await send({ country, phone: '+44 20 7946 0018' });
      expect(refused.status, country).toBe(400);
      const html = await refused.text();
      expect(html).toMatch(/<select id="sms-country" name="country"[^>]*aria-invalid="true"/);
      expect(html).toContain('id="sms-country-error" role="alert">Choose a country from the list.</p>');
    }
    const twice = await send({ country: ['GB', 'US'] as unknown as string, phone: '+44 20 7946 0018' });
    expect(twice.status).toBe(400);
    expect(readOutbox(server.environment.config.dataDir).length).toBe(before);
    expect(await server.app.factors.store.findFactors(seeded.org.id, seeded.user.id)).toEqual([]);
  });

  it('on My Account the country picked overrides the default, for text messages and voice calls', async () => {
    const seeded = await seedUser(server.app, { slug: 'brit', email: 'eve@brit.example' });
    const eve: Member = { seeded, password: PASSWORD, secret: null, lastStep: 0 };
    await withFactors(eve);
    const browser = new Browser();
    await signIn(browser, eve);
    const settings = await page(browser, '/account/two-factor');
    expect(settings).toMatch(/<select id="voice-country" name="country"[^>]*>[^]*?<option value="GB" selected>/);

    const sent = await post(browser, '/account/two-factor/method/voice', { country: 'US', phone: '(415) 555-0123' });
    expect(sent.status).toBe(200);
    expect(lastMessage()).toMatchObject({ channel: 'voice', to: '+14155550123' });
    const factorId = /name="factorId" value="([^"]+)"/.exec(await sent.text())![1]!;
    await post(browser, '/account/two-factor/method/voice/confirm', { factorId, code: lastMessage().code });
    expect((await factorsOf(eve)).find((f) => f.id === factorId)).toMatchObject({ active: true });
    expect(await page(browser, '/account/two-factor')).toContain(
      '<strong>Voice call</strong> <span class="muted">+1 ••• ••• ••23</span>',
    );

    const bad = await post(browser, '/account/two-factor/method/sms', { country: 'ZZ', phone: '020 7946 0018' });
    expect(bad.status).toBe(400);
  });

  it('without a default country the picker starts on none, and a national number is refused saying so', async () => {
    const settings = await page(adminBrowser, '/account/two-factor');
    expect(settings).toMatch(
      /<select id="sms-country" name="country"[^>]*>\s*<option value="" selected>None: I will type the number with \+ and its country code<\/option>/,
    );
    const refused = await post(adminBrowser, '/account/two-factor/method/sms', { country: '', phone: '020 7946 0018' });
    expect(refused.status).toBe(400);
    expect(await refused.text()).toContain(refusal('none is chosen'));
  });

  it('the console sets the default country behind step-up, refuses unknown codes and records the change', async () => {
    const security = await page(adminBrowser, '/admin/security');
    expect(security).toMatch(/<label for="defaultCountry">Default country<\/label>/);
    expect(security).toContain(
      '<option value="" selected>None: international format (+ and the country code)</option>',
    );
    expect(security).toMatch(
      /<select id="defaultCountry" name="defaultCountry"[^>]*aria-describedby="defaultCountry-hint"/,
    );

    for (const defaultCountry of ['XX', 'UK', 'x'.repeat(65)]) {
      const refused = await post(adminBrowser, '/admin/security/phone-numbers', { defaultCountry });
      expect(refused.status, defaultCountry).toBe(400);
      expect(await refused.text()).toContain(
        'id="defaultCountry-error" role="alert">Choose a country from the list.</p>',
      );
    }
    expect((await org('acme')).defaultCountry).toBeNull();

    const saved = await post(adminBrowser, '/admin/security/phone-numbers', { defaultCountry: 'IE' });
    expect(redirect(saved)).toBe('303 /admin/security?done=settings');
    expect((await org('acme')).defaultCountry).toBe('IE');
    expect(await page(adminBrowser, '/admin/security')).toContain(
      '<option value="IE" selected>Ireland (+353)</option>',
    );
    const events = (await server.app.services.people.describe(admin.seeded.org, admin.seeded.user.id)).events;
    expect(events.find((e) => e.type === 'org.policy_changed')?.detail).toEqual({
      changes: { defaultCountry: { from: null, to: 'IE' } },
    });
    expect(await page(adminBrowser, '/admin/activity?kind=administration')).toContain('default country: none → IE');

    clock.advance(301_000);
    const stale = await post(adminBrowser, '/admin/security/phone-numbers', { defaultCountry: '' });
    expect(redirect(stale)).toMatch(/^303 \/account\/login\?fresh=1&resume=/);
    expect((await org('acme')).defaultCountry).toBe('IE');
  });

  it('the admin API shows default_country and changes it with a fresh sign-in, refusing unknown codes with a 400', async () => {
    const tool = await discoverRp(
      server.issuer,
      await seedClient(server.app, { id: 'admin-tool', adminApi: true, redirectUri: 'https://tool.example/cb' }),
    );
    const { access_token: token } = await signInForTokens(tool, {
      email: admin.seeded.user.email,
      password: PASSWORD,
      totpCode: () => nextCode(admin),
    });
    const call = async (method: string, body?: unknown) => {
      const response = await fetch(`${server.issuer}/api/admin/organization`, {
        method,
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      return { status: response.status, json: (await response.json()) as Record<string, unknown> };
    };
    expect((await call('GET')).json).toMatchObject({ slug: 'acme', default_country: 'IE' });
    expect(await call('PATCH', { default_country: 'gb' })).toMatchObject({
      status: 200,
      json: { default_country: 'GB' },
    });
    for (const default_country of ['XX', 'GBR', 42, '']) {
      const refused = await call('PATCH', { default_country });
      expect(refused.status, String(default_country)).toBe(400);
      expect(refused.json).toMatchObject({ error: 'invalid_request' });
      expect(String(refused.json.error_description)).toContain('Choose a country from the list.');
    }
    expect((await org('acme')).defaultCountry).toBe('GB');
    expect(await call('PATCH', { default_country: null })).toMatchObject({
      status: 200,
      json: { default_country: null },
    });
  });
});
