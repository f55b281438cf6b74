/**
 * The people of the mixed load (bench/mixed-load.ts) and their journeys: a sign-in through the
 * pages with password and authenticator code (and the code exchange), and a My Account sign-in.
 * Each person uses each TOTP time step once (RFC 6238 §5.2), so a person is lent to one journey at a time.
 */
import * as oidc from 'openid-client';

import { Agent, readForm } from '../test/helpers/agent.ts';
import { authorizationRequest, open, type RelyingParty } from '../test/helpers/rp.ts';
import { PASSWORD, type Seeded } from '../test/helpers/seed.ts';
import type { TestServer } from '../test/helpers/server.ts';
import { totpAt } from '../test/helpers/totp.ts';

/** The expected status or the operation fails with what came instead. */
export async function expectStatus(response: Response, status: number, what: string): Promise<Response> {
  if (response.status !== status) {
    const body = (await response.text()).replace(/\s+/g, ' ').slice(0, 160);
    throw new Error(`${what}: ${response.status} instead of ${status} ${body}`);
  }
  return response;
}

/** Someone who signs in: their authenticator seed and the last time step they used. */
export interface Person {
  seeded: Seeded;
  secret: Buffer;
  lastStep: number;
  /** A journey of theirs is in flight: a later step accepted first would refuse an earlier one. */
  busy: boolean;
}

/**
 * The next step the person may use now: later than their last one, at most one step ahead of the
 * real clock (the server accepts the current step ±1), or null when they must wait.
 */
export function takeStep(person: Person): number | null {
  const now = Math.floor(Date.now() / 30_000);
  const step = Math.max(person.lastStep + 1, now);
  if (person.busy || step > now + 1) return null;
  person.lastStep = step;
  return step;
}

/** The first person with a time step free, and that step (taken: nothing awaits between looking and taking). */
export function firstFree(persons: Person[]): { person: Person; step: number } | null {
  for (const person of persons) {
    const step = takeStep(person);
    if (step !== null) return { person, step };
  }
  return null;
}

/** One whole sign-in through the pages, password then the authenticator code, and the code exchange. */
export async function signIn(rp: RelyingParty, person: Person, step: number, count: () => void): Promise<void> {
  const agent = new Agent();
  const request = await authorizationRequest(rp);
  const first = await open(agent, request.url, rp.redirectUri);
  count();
  const login = readForm(await first.response.text(), /\/login$/);
  const loginUrl = new URL(login.action, first.url);
  const fields = { _csrf: login.csrf, email: person.seeded.user.email, password: PASSWORD };
  const afterPassword = await expectStatus(await agent.request(loginUrl, { form: fields }), 303, 'password');
  count();
  const verify = await agent.follow(afterPassword, loginUrl);
  count();
  const html = await verify.response.text();
  const form = readForm(html, /\/verify\/[a-z]+$/);
  const factorId = /name="factorId" value="([^"]+)"/.exec(html)?.[1] ?? '';
  const target = new URL(`${verify.url.pathname}/totp`, verify.url);
  const code = totpAt(person.secret, step * 30);
  const proven = await agent.request(target, { form: { _csrf: form.csrf, factorId, code } });
  await expectStatus(proven, 303, 'authenticator code');
  const callback = await agent.follow(proven, target, (next) => next.href.startsWith(rp.redirectUri));
  count();
  if (!callback.url.href.startsWith(rp.redirectUri)) throw new Error(`sign-in ended at ${callback.url.href}`);
  await oidc.authorizationCodeGrant(rp.config, callback.url, {
    pkceCodeVerifier: request.verifier,
    expectedNonce: request.nonce,
    expectedState: request.state,
    idTokenExpected: true,
  });
  count();
}

/** A browser signed in to My Account with the person's password and authenticator code. */
export async function signInToAccount(server: TestServer, person: Person): Promise<Agent> {
  const agent = new Agent();
  let page = await open(agent, new URL('/account', server.issuer), `${server.issuer}/never`);
  for (let i = 0; i < 3 && page.url.pathname.startsWith('/interaction/'); i++) {
    const html = await page.response.text();
    const login = /\/login"/.test(html);
    const form = readForm(html, login ? /\/login$/ : /\/verify\/[a-z]+$/);
    const step = login ? 0 : takeStep(person);
    if (step === null) throw new Error('no time step free for the account sign-in');
    const fields: Record<string, string> = login
      ? { email: person.seeded.user.email, password: PASSWORD }
      : { factorId: /name="factorId" value="([^"]+)"/.exec(html)![1]!, code: totpAt(person.secret, step * 30) };
    const target = new URL(login ? form.action : `${page.url.pathname}/totp`, page.url);
    page = await agent.follow(await agent.request(target, { form: { _csrf: form.csrf, ...fields } }), target);
  }
  if (page.url.pathname !== '/account') throw new Error(`account sign-in ended at ${page.url.href}`);
  return agent;
}
