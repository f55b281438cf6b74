import * as oidc from 'openid-client';
import { expect } from 'vitest';

import { Agent, readForm } from './agent.ts';
import type { TestClock } from './clock.ts';
import { authorizationRequest, exchange, open, submitLogin, type RelyingParty } from './rp.ts';
import type { Seeded } from './seed.ts';
import { totpAt } from './totp.ts';

type Page = { response: Response; url: URL };

/**
 * A relying party's view of one person's access, for tests that end it: a multi-factor sign-in
 * with offline access, a silent authorization request on the browser's session, introspection.
 * `rp` is a getter because test servers start in beforeAll.
 */
export function oidcSessions(deps: { rp: () => RelyingParty; clock: TestClock }) {
  const { clock } = deps;

  async function submit(agent: Agent, page: Page, action: RegExp, fields: Record<string, string>) {
    const form = readForm(await page.response.text(), action);
    const target = new URL(form.action, page.url);
    const response = await agent.request(target, { form: { _csrf: form.csrf, ...fields } });
    return agent.follow(response, target, (next) => next.href.startsWith(deps.rp().redirectUri));
  }

  /** Password, authenticator code, consent: the tokens of a multi-factor sign-in with offline access. */
  async function signInWithTotp(agent: Agent, seeded: Seeded, secret: Buffer) {
    const rp = deps.rp();
    const request = await authorizationRequest(rp, { scope: 'openid offline_access', prompt: 'consent' });
    const login = await open(agent, request.url, rp.redirectUri);
    const verify = await submitLogin(agent, login, seeded.user.email, seeded.password, rp.redirectUri);
    const factorId = /name="factorId" value="([^"]+)"/.exec(await verify.response.clone().text())![1]!;
    clock.advance(30_000);
    const code = totpAt(secret, clock.now() / 1000);
    const consent = await submit(agent, verify, /\/verify\/[a-z]+$/, { factorId, code });
    const callback = await submit(agent, consent, /\/confirm$/, {});
    const tokens = await exchange(rp, callback.url, request);
    expect(tokens.claims()!.amr).toContain('mfa');
    expect(tokens.refresh_token).toBeTruthy();
    return tokens;
  }

  /** The sign-in page's answer to a password (the page itself when it refuses), in a browser of its own. */
  async function submitPassword(email: string, password: string): Promise<Page> {
    const rp = deps.rp();
    const agent = new Agent();
    const request = await authorizationRequest(rp);
    return submitLogin(agent, await open(agent, request.url, rp.redirectUri), email, password, rp.redirectUri);
  }

  /** A silent authorization request on the browser's session (OIDC Core §3.1.2.1 prompt=none): its callback's query. */
  async function silently(agent: Agent): Promise<URLSearchParams> {
    const rp = deps.rp();
    const request = await authorizationRequest(rp, { scope: 'openid', prompt: 'none' });
    return (await open(agent, request.url, rp.redirectUri)).url.searchParams;
  }

  const isActive = async (accessToken: string) => (await oidc.tokenIntrospection(deps.rp().config, accessToken)).active;

  return { signInWithTotp, submitPassword, silently, isActive };
}
