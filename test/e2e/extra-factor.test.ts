import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { ACR_MFA } from '../../src/domain/authentication.ts';
import { createPaperCardFactor } from '../fixtures/paper-card/paper-card.ts';
import { Agent, readForm } from '../helpers/agent.ts';
import { authorizationRequest, discoverRp, exchange, open, submitLogin, type RelyingParty } from '../helpers/rp.ts';
import { seedClient, seedUser, type Seeded } from '../helpers/seed.ts';
import { createTestClock, startTestServer, type TestServer } from '../helpers/server.ts';

type Page = { response: Response; url: URL };

/**
 * The proof that the flows never name a factor: a kind that exists only in this test (the
 * paper card in test/fixtures/, with its own views) is enrolled at sign-in, proves the second
 * step and appears on the account pages through the same routes and views as the built-in ones.
 */
describe('a factor added without touching the flows', () => {
  const clock = createTestClock();
  let server: TestServer;
  let rp: RelyingParty;
  let seeded: Seeded;
  let word = '';

  beforeAll(async () => {
    server = await startTestServer('sqlite', {
      clock,
      app: {
        extraFactors: [createPaperCardFactor],
        extraViewRoots: [fileURLToPath(new URL('../fixtures/paper-card/views', import.meta.url))],
      },
    });
    rp = await discoverRp(server.issuer, await seedClient(server.app, { firstParty: true }));
    seeded = await seedUser(server.app, { slug: 'cards', email: 'card@cards.example', enforceTfa: true });
  });
  afterAll(async () => server?.close());

  async function post(agent: Agent, page: Page, action: RegExp, fields: Record<string, string>): Promise<Page> {
    const form = readForm(await page.response.text(), action);
    const target = new URL(form.action, page.url);
    return agent.follow(await agent.request(target, { form: { _csrf: form.csrf, ...fields } }), target, (u) =>
      u.href.startsWith(rp.redirectUri),
    );
  }

  it('is offered at enrolment, refuses a wrong proof, and enrolling it signs in with acr mfa', async () => {
    const agent = new Agent();
    const request = await authorizationRequest(rp);
    const enrol = await submitLogin(
      agent,
      await open(agent, request.url, rp.redirectUri),
      seeded.user.email,
      seeded.password,
      rp.redirectUri,
    );
    expect(enrol.url.pathname).toMatch(/\/enrol$/);
    const confirm = await post(agent, enrol, /\/enrol\/method\/paper-card$/, { label: 'Wallet card' });
    const confirmHtml = await confirm.response.clone().text();
    word = /data-testid="card-word">([^<]+)</.exec(confirmHtml)![1]!;
    const wrong = await post(agent, confirm, /\/enrol\/method\/paper-card\/confirm$/, {
      factorId: /name="factorId" value="([^"]+)"/.exec(confirmHtml)![1]!,
      word: 'not-the-word',
    });
    expect(wrong.response.status).toBe(401);
    const wrongHtml = await wrong.response.clone().text();
    expect(wrongHtml).toContain('That is not the word on your card.');
    const codes = await post(agent, wrong, /\/enrol\/method\/paper-card\/confirm$/, {
      factorId: /name="factorId" value="([^"]+)"/.exec(wrongHtml)![1]!,
      word,
    });
    expect(codes.url.pathname).toMatch(/\/enrol\/codes$/);
    const done = await post(agent, codes, /\/enrol\/finish$/, {});
    const claims = (await exchange(rp, done.url, request)).claims()!;
    expect(claims.acr).toBe(ACR_MFA);
    expect(claims.amr).toEqual(['pwd', 'otp', 'mfa']);
    const [card] = await server.app.factors.store.findFactors(seeded.org.id, seeded.user.id);
    expect(card).toMatchObject({ kind: 'paper-card', label: 'Wallet card', active: true });
  });

  it('is the second step of the next sign-in, through the same verification routes', async () => {
    const agent = new Agent();
    const request = await authorizationRequest(rp);
    const step = await submitLogin(
      agent,
      await open(agent, request.url, rp.redirectUri),
      seeded.user.email,
      seeded.password,
      rp.redirectUri,
    );
    expect(step.url.pathname).toMatch(/\/verify$/);
    const html = await step.response.clone().text();
    expect(html).toContain('Type the word on your paper card');
    // The recovery codes made at enrolment are offered beside it.
    expect(html).toContain('Recovery code (10 left)');
    const factorId = /name="factorId" value="([^"]+)"/.exec(html)![1]!;
    const refused = await post(agent, step, /\/verify\/paper-card$/, { factorId, word: 'guess' });
    expect(refused.response.status).toBe(401);
    const done = await post(agent, refused, /\/verify\/paper-card$/, { factorId, word });
    const claims = (await exchange(rp, done.url, request)).claims()!;
    expect(claims.amr).toEqual(['pwd', 'otp', 'mfa']);
  });
});
