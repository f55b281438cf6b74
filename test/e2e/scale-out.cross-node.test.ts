import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { Person } from '../../src/factors/factor.ts';
import { Agent, readForm } from '../helpers/agent.ts';
import { skipReason } from '../helpers/backends.ts';
import { factorDriver } from '../helpers/factors.ts';
import { authorizationRequest, discoverRp, exchange, open, type RelyingParty } from '../helpers/rp.ts';
import { enrolTotp, seedClient, seedUser, type Seeded } from '../helpers/seed.ts';
import { startSecondNode, startTestServer, type TestServer } from '../helpers/server.ts';
import { readOutbox, totpAt } from '../helpers/totp.ts';

const skip = (skipReason('postgres') ?? skipReason('redis')) !== null;

type Page = { response: Response; url: URL };

/**
 * Issue 11: what an administrator or a person changes through node A holds on node B at once, and
 * single-use checks and attempt budgets are one for the whole deployment. Nothing of it may be
 * cached per node: every node reads policy, app passwords and factors from the shared stores.
 */
describe.skipIf(skip)('changes through one node hold on the other at once', () => {
  let a: TestServer;
  let b: TestServer;
  let rp: RelyingParty;
  let dovecotSecret: string;

  beforeAll(async () => {
    a = await startTestServer('postgres+redis', {
      overrides: {
        throttle: {
          // Above a phone code's own budget (5 guesses), so that both budgets can be seen.
          account: { freeAttempts: 8, windowSeconds: 900, maxDelaySeconds: 60 },
          ip: { freeAttempts: 200, windowSeconds: 900, maxDelaySeconds: 60 },
        },
      },
    });
    b = await startSecondNode(a);
    rp = await discoverRp(a.issuer, await seedClient(a.app, { firstParty: true }));
    dovecotSecret = (
      await a.app.services.clients.registerClient({
        clientId: 'dovecot',
        grants: ['password'],
        authMethod: 'client_secret_post',
        introspection: true,
      })
    ).secret!;
  }, 120_000);
  afterAll(async () => {
    await b?.close();
    await a?.close();
  });

  /** The same path on another node: what a load balancer does with the browser's next request. */
  const on = (node: TestServer, url: URL) => new URL(`${url.pathname}${url.search}`, node.url);
  const personOf = (s: Seeded): Person => ({ orgId: s.org.id, userId: s.user.id, email: s.user.email });

  /** Email and password posted to `node`; the page that follows (the second step, enrolment, or the client). */
  async function passwordAt(node: TestServer, s: Seeded) {
    const agent = new Agent();
    const request = await authorizationRequest(rp);
    const login = await open(agent, on(node, new URL(request.url)), rp.redirectUri);
    const form = readForm(await login.response.text(), /\/login$/);
    const target = on(node, new URL(form.action, login.url));
    const response = await agent.request(target, {
      form: { _csrf: form.csrf, email: s.user.email, password: s.password },
    });
    const page = await agent.follow(response, target, (next) => next.href.startsWith(rp.redirectUri));
    return { agent, request, page };
  }

  /** A second-step form of `page` posted to `node`, followed to the client if it succeeds. */
  async function codeAt(node: TestServer, agent: Agent, page: Page, kind: string, fields: Record<string, string>) {
    // The page opens on the person's preferred method; every method answers at verify/<kind>.
    const { csrf } = readForm(await page.response.text(), /\/verify\/[a-z]+$/);
    const uid = page.url.pathname.split('/')[2]!;
    const target = new URL(`/interaction/${uid}/verify/${kind}`, node.url);
    const response = await agent.request(target, { form: { _csrf: csrf, ...fields } });
    return agent.follow(response, target, (next) => next.href.startsWith(rp.redirectUri));
  }

  const atClient = (page: Page) => page.url.href.startsWith(rp.redirectUri);

  it('TFA enforced through A: the next sign-in on B asks for enrolment', async () => {
    const sue = await seedUser(a.app, { slug: 'enforcing', email: 'sue@example.com' });
    expect(atClient((await passwordAt(b, sue)).page)).toBe(true);

    const org = await a.app.services.organizations.requireOrganization('enforcing');
    await a.app.services.organizations.updatePolicy(org, { enforceTfa: true }, { userId: null, actor: 'cli' });

    const { page } = await passwordAt(b, sue);
    expect(page.url.pathname).toMatch(/^\/interaction\/[^/]+\/enrol/);
  });

  it('a method forbidden through A is no longer offered nor accepted on B', async () => {
    const tom = await seedUser(a.app, { slug: 'forbidding', email: 'tom@example.com' });
    const { secret } = await enrolTotp(a.app, tom, Date.now());
    const phones = factorDriver(a.app);
    const { factorId } = await phones.beginPhone(personOf(tom), 'sms', '+14155550142', 'Work phone', 'seed', '::1');
    const code = readOutbox(a.environment.config.dataDir).at(-1)!.code;
    expect((await phones.confirmPhone(personOf(tom), 'sms', factorId, code, 'seed')).ok).toBe(true);
    expect(await (await passwordAt(b, tom)).page.response.text()).toContain('Work phone');

    const org = await a.app.services.organizations.requireOrganization('forbidding');
    await a.app.services.organizations.updatePolicy(org, { allowedMethods: ['totp'] }, { userId: null, actor: 'cli' });

    const { agent, page } = await passwordAt(b, tom);
    const html = await page.response.text();
    expect(html).not.toContain('Work phone');
    const uid = page.url.pathname.split('/')[2]!;
    const challenge = await agent.request(new URL(`/interaction/${uid}/verify/sms/challenge`, b.url), {
      form: { _csrf: readForm(html, /\/verify\/totp$/).csrf, factorId },
    });
    expect(challenge.status).toBe(400);
    // The allowed method still works there.
    const totpId = (await a.app.factors.store.findFactors(tom.org.id, tom.user.id)).find((f) => f.kind === 'totp')!.id;
    const done = await codeAt(b, agent, { response: new Response(html), url: page.url }, 'totp', {
      factorId: totpId,
      code: totpAt(secret, Date.now() / 1000 + 30),
    });
    expect(atClient(done)).toBe(true);
  });

  it('an app password revoked through A no longer signs in on B, and its token is inactive there at once', async () => {
    const ann = await seedUser(a.app, { slug: 'mail', email: 'ann@example.com' });
    await enrolTotp(a.app, ann, Date.now());
    const { summary, password } = await a.app.services.appPasswords.create(
      personOf(ann),
      ann.org,
      true,
      { name: 'Thunderbird', scopes: ['imap'] },
      '203.0.113.7',
    );
    const grantAt = (node: TestServer) =>
      fetch(`${node.url}/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          grant_type: 'password',
          username: 'ann@example.com',
          password,
          client_id: 'dovecot',
          client_secret: dovecotSecret,
        }),
      });
    const activeAt = async (node: TestServer, token: string) => {
      const response = await fetch(`${node.url}/token/introspection`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ token, client_id: 'dovecot', client_secret: dovecotSecret }),
      });
      return ((await response.json()) as { active: boolean }).active;
    };
    const granted = await grantAt(b);
    expect(granted.status).toBe(200);
    const { access_token: token } = (await granted.json()) as { access_token: string };
    expect(await activeAt(b, token)).toBe(true);

    await a.app.services.appPasswords.revoke(personOf(ann), summary.id, '203.0.113.7');

    expect(await activeAt(b, token)).toBe(false);
    const refused = await grantAt(b);
    expect([refused.status, ((await refused.json()) as { error: string }).error]).toEqual([400, 'invalid_grant']);
  });

  it('an authenticator code accepted on A is refused on B', async () => {
    const ida = await seedUser(a.app, { slug: 'codes', email: 'ida@example.com' });
    const { secret } = await enrolTotp(a.app, ida, Date.now());
    const totpId = (await a.app.factors.store.findFactors(ida.org.id, ida.user.id))[0]!.id;
    const code = totpAt(secret, Date.now() / 1000 + 30);

    const first = await passwordAt(a, ida);
    const accepted = await codeAt(a, first.agent, first.page, 'totp', { factorId: totpId, code });
    expect(atClient(accepted)).toBe(true);
    expect((await exchange(rp, accepted.url, first.request)).claims()!.amr).toContain('otp');

    const second = await passwordAt(b, ida);
    const replayed = await codeAt(b, second.agent, second.page, 'totp', { factorId: totpId, code });
    expect(replayed.response.status).toBeGreaterThanOrEqual(400);
    expect(await replayed.response.text()).toContain('already used');
  });

  it('a recovery code used on A is refused on B', async () => {
    const max = await seedUser(a.app, { slug: 'codes', email: 'max@example.com' });
    await enrolTotp(a.app, max, Date.now());
    const [code] = await a.app.factors.recovery.regenerate(personOf(max));

    const first = await passwordAt(a, max);
    // Accepted: the page that says how many codes are left, before the person goes on.
    const used = await codeAt(a, first.agent, first.page, 'recovery', { code: code! });
    expect([used.response.status, await used.response.text()]).toEqual([200, expect.stringContaining('9')]);
    expect(await a.app.factors.recovery.remaining(personOf(max))).toBe(9);

    const second = await passwordAt(b, max);
    const replayed = await codeAt(b, second.agent, second.page, 'recovery', { code: code! });
    expect(replayed.response.status).toBeGreaterThanOrEqual(400);
    expect(await replayed.response.text()).toContain('already used');
    expect(await a.app.factors.recovery.remaining(personOf(max))).toBe(9);
  });

  it('wrong codes count against one budget whichever node they reach', async () => {
    const zoe = await seedUser(a.app, { slug: 'codes', email: 'zoe@example.com' });
    const { secret } = await enrolTotp(a.app, zoe, Date.now());
    const totpId = (await a.app.factors.store.findFactors(zoe.org.id, zoe.user.id))[0]!.id;
    const right = totpAt(secret, Date.now() / 1000 + 30);
    const wrong = String((Number(right) + 1) % 1_000_000).padStart(6, '0');
    const { agent, page } = await passwordAt(a, zoe);
    const html = await page.response.text();
    const statuses: number[] = [];
    for (let i = 0; i < 10; i++) {
      const node = i % 2 === 0 ? a : b;
      const answer = await codeAt(node, agent, { response: new Response(html), url: page.url }, 'totp', {
        factorId: totpId,
        code: wrong,
      });
      statuses.push(answer.response.status);
    }
    expect(statuses.slice(0, 8).every((status) => status >= 400 && status !== 429)).toBe(true);
    expect(statuses.slice(8)).toEqual([429, 429]);
    // Even the right code waits out the budget, on either node.
    const blocked = await codeAt(b, agent, { response: new Response(html), url: page.url }, 'totp', {
      factorId: totpId,
      code: right,
    });
    expect(blocked.response.status).toBe(429);
  });

  it("a text-message code's own guess budget is one for both nodes", async () => {
    const pia = await seedUser(a.app, { slug: 'codes', email: 'pia@example.com' });
    const phones = factorDriver(a.app);
    const { factorId } = await phones.beginPhone(personOf(pia), 'sms', '+14155550177', 'Work phone', 'seed', '::1');
    const outbox = () => readOutbox(a.environment.config.dataDir).filter((m) => m.to === '+14155550177');
    expect((await phones.confirmPhone(personOf(pia), 'sms', factorId, outbox().at(-1)!.code, 'seed')).ok).toBe(true);
    const { agent, page } = await passwordAt(a, pia);
    const html = await page.response.text();
    const uid = page.url.pathname.split('/')[2]!;
    const { csrf } = readForm(html, /\/verify\/[a-z]+(\/challenge)?$/);
    const sent = await agent.request(new URL(`/interaction/${uid}/verify/sms/challenge`, a.url), {
      form: { _csrf: csrf, factorId },
    });
    expect(sent.status).toBeLessThan(400);
    const right = outbox().at(-1)!.code;
    const wrong = String((Number(right) + 1) % 1_000_000).padStart(6, '0');
    const guessAt = async (node: TestServer, code: string) => {
      const target = new URL(`/interaction/${uid}/verify/sms`, node.url);
      const response = await agent.request(target, { form: { _csrf: csrf, factorId, code } });
      return { status: response.status, text: await response.text() };
    };
    // Five wrong guesses, spread over both nodes, spend the code's budget of five.
    for (let i = 0; i < 5; i++) expect((await guessAt(i % 2 === 0 ? a : b, wrong)).text).toContain('not right');
    const late = await guessAt(b, right);
    expect(late.status).toBeGreaterThanOrEqual(400);
    expect(late.text).toContain('Too many wrong codes');
  });
});
