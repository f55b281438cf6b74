import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { createLogger } from '../../src/logger.ts';
import { startServer, type RunningServer } from '../../src/server.ts';
import { Agent, readForm } from '../helpers/agent.ts';
import { authorizationRequest, discoverRp, exchange, open, submitLogin, type RelyingParty } from '../helpers/rp.ts';
import { enrolTotp, seedClient, seedUser, type Seeded } from '../helpers/seed.ts';
import { createTestClock } from '../helpers/clock.ts';
import { createTestEnvironment, freePort, type TestEnvironment } from '../helpers/server.ts';
import { factorDriver } from '../helpers/factors.ts';
import { readOutbox, totpAt } from '../helpers/totp.ts';

/** Threats against the second step: malformed input, leaks of secrets, and shortcuts past it. */
describe('the second step under attack', () => {
  const clock = createTestClock();
  const logs: string[] = [];
  let environment: TestEnvironment;
  let server: RunningServer;
  let rp: RelyingParty;
  let mobile: RelyingParty;
  let seeded: Seeded;
  let secret: Buffer;
  let smsId: string;

  beforeAll(async () => {
    const port = await freePort();
    environment = await createTestEnvironment('sqlite', {}, port);
    const sink = new Writable({ write: (chunk, _enc, done) => void (logs.push(String(chunk)), done()) });
    server = await startServer(environment.config, {
      ...environment.options,
      clock,
      logger: createLogger('trace', sink),
    });
    rp = await discoverRp(environment.config.issuer, await seedClient(server.app, { firstParty: true }));
    mobile = await discoverRp(
      environment.config.issuer,
      await seedClient(server.app, {
        id: 'mobile',
        public: true,
        firstParty: true,
        redirectUri: 'com.example.mobile:/oauth',
      }),
    );
    seeded = await seedUser(server.app);
    const person = { orgId: seeded.org.id, userId: seeded.user.id, email: seeded.user.email };
    const factors = factorDriver(server.app);
    const enrolment = await enrolTotp(server.app, seeded, clock.now());
    secret = enrolment.secret;
    const sms = await factors.beginPhone(person, 'sms', '+14155550199', 'Phone', 'enrol', '127.0.0.1');
    const code = readOutbox(environment.config.dataDir).at(-1)!.code;
    await factors.confirmPhone(person, 'sms', sms.factorId, code, 'enrol');
    smsId = sms.factorId;
    // Both factors were made at the same instant of the test clock: name the preferred one.
    await server.app.factors.store.setPreferredFactorId(seeded.org.id, seeded.user.id, enrolment.factorId);
  });
  afterAll(async () => {
    await server?.stop();
    await environment?.cleanup();
  });

  async function atSecondStep(client = rp) {
    const agent = new Agent();
    const request = await authorizationRequest(client);
    const page = await submitLogin(
      agent,
      await open(agent, request.url, client.redirectUri),
      seeded.user.email,
      seeded.password,
      client.redirectUri,
    );
    expect(page.url.pathname).toMatch(/\/verify$/);
    return { agent, request, page, uid: page.url.pathname.split('/')[2]! };
  }

  it('signs a first-party mobile app (public client, PKCE) in with the password and then the code', async () => {
    const { agent, request, page } = await atSecondStep(mobile);
    const html = await page.response.text();
    const form = readForm(html, /\/verify\/[a-z]+$/);
    const factorId = /name="factorId" value="([^"]+)"/.exec(html)![1]!;
    clock.advance(30_000);
    const target = new URL(form.action, page.url);
    let done = await agent.follow(
      await agent.request(target, { form: { _csrf: form.csrf, factorId, code: totpAt(secret, clock.now() / 1000) } }),
      target,
      (u) => u.href.startsWith(mobile.redirectUri),
    );
    // Native apps confirm consent each time (RFC 8252 §8.6): their redirect can be claimed by anyone.
    if (!done.url.href.startsWith(mobile.redirectUri)) {
      const consent = readForm(await done.response.text(), /\/confirm$/);
      const confirm = new URL(consent.action, done.url);
      done = await agent.follow(await agent.request(confirm, { form: { _csrf: consent.csrf } }), confirm, (u) =>
        u.href.startsWith(mobile.redirectUri),
      );
    }
    expect(done.url.href.startsWith('com.example.mobile:/oauth')).toBe(true);
    expect((await exchange(mobile, done.url, request)).claims()!.amr).toEqual(['pwd', 'otp', 'mfa']);
  });

  it('cannot skip the second step by going back to the authorization endpoint', async () => {
    const { agent, uid } = await atSecondStep();
    const resume = await agent.request(new URL(`/auth/${uid}`, environment.config.issuer));
    const landed = await agent.follow(resume, new URL(`/auth/${uid}`, environment.config.issuer), (u) =>
      u.href.startsWith(rp.redirectUri),
    );
    // No code: the provider starts the sign-in over, at the password.
    expect(landed.url.searchParams.get('code')).toBeNull();
    expect(await landed.response.text()).toMatch(/Sign in|error/);
  });

  it('answers garbage on every second-step endpoint with a 4xx, never a 500', async () => {
    const { agent, uid, page } = await atSecondStep();
    const csrf = readForm(await page.response.text(), /\/verify\/[a-z]+$/).csrf;
    const base = `${environment.config.issuer}/interaction/${uid}`;
    const forms: [string, Record<string, string>][] = [
      ['/verify/totp', { _csrf: csrf, factorId: 'x'.repeat(500), code: '123456' }],
      ['/verify/recovery', { _csrf: csrf, code: '😀😀😀' }],
      ['/verify/totp', { _csrf: csrf }],
      ['/verify/pigeon', { _csrf: csrf, code: '123456' }],
      ['/verify/sms/challenge', { _csrf: csrf, factorId: 'nope' }],
      ['/verify/sms/challenge', { _csrf: csrf }],
      ['/verify/recovery', { code: 'abcd-efgh-jkmn' }],
      ['/enrol/method/totp', { _csrf: csrf }],
      ['/enrol/method/sms', { _csrf: csrf, phone: '+1', kind: 'sms' }],
    ];
    for (const [path, form] of forms) {
      const response = await agent.request(`${base}${path}`, { form });
      expect(response.status, path).toBeGreaterThanOrEqual(400);
      expect(response.status, path).toBeLessThan(500);
    }
    const json = async (path: string, body: string) =>
      fetch(`${base}${path}`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'application/json',
          cookie: agent.cookieHeader(new URL(`${base}${path}`)),
        },
        body,
      });
    for (const [path, body] of [
      [
        '/verify/webauthn',
        JSON.stringify({ _csrf: csrf, credential: { id: 'x', rawId: 'x', type: 'public-key', response: {} } }),
      ],
      ['/verify/webauthn', JSON.stringify({ _csrf: csrf, credential: 'nonsense' })],
      ['/verify/webauthn', '{"_csrf":'],
      [
        '/passwordless/webauthn',
        JSON.stringify({
          _csrf: csrf,
          credential: {
            id: 'AAAA',
            rawId: 'AAAA',
            type: 'public-key',
            response: { clientDataJSON: 'e30', authenticatorData: 'AA', signature: 'AA' },
          },
        }),
      ],
      ['/passwordless/webauthn/challenge', JSON.stringify({})],
      ['/enrol/method/webauthn/confirm', JSON.stringify({ _csrf: csrf, credential: [] })],
    ] as const) {
      const response = await json(path, body);
      expect(response.status, `${path} ${body.slice(0, 40)}`).toBeGreaterThanOrEqual(400);
      expect(response.status).toBeLessThan(500);
      expect(((await response.json()) as { error?: string }).error).toBeTruthy();
    }
  });

  it('keeps codes, seeds and passwords out of the logs and out of the pages', async () => {
    const { agent, page } = await atSecondStep();
    const html = await page.response.text();
    const form = readForm(html, /\/verify\/[a-z]+$/);
    expect(html).toContain(`method=${smsId}`);
    const send = await agent.request(
      new URL(form.action.replace(/\/verify\/[a-z]+$/, '/verify/sms/challenge'), page.url),
      { form: { _csrf: form.csrf, factorId: smsId } },
    );
    expect(send.status).toBe(303);
    const code = readOutbox(environment.config.dataDir).at(-1)!.code;
    const base32 = new URL(
      (
        await factorDriver(server.app).beginTotp(
          { orgId: seeded.org.id, userId: seeded.user.id, email: seeded.user.email },
          'x',
        )
      ).uri,
    ).searchParams.get('secret')!;
    const stepPage = await (
      await agent.request(new URL(`${page.url.pathname}?method=${smsId}&sent=1`, page.url))
    ).text();
    expect(stepPage).not.toContain(code);
    expect(stepPage).not.toContain(base32);
    const all = logs.join('');
    expect(all.length).toBeGreaterThan(0);
    expect(all).not.toContain(code);
    expect(all).not.toContain(base32);
    expect(all).not.toContain(seeded.password);
  });
});
