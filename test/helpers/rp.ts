import * as oidc from 'openid-client';
import { expect } from 'vitest';

import { Agent, readForm } from './agent.ts';

/** A relying party built on openid-client, the way any certified client library would talk to us. */
export interface RelyingParty {
  config: oidc.Configuration;
  redirectUri: string;
}

export async function discoverRp(
  issuer: string,
  client: { clientId: string; clientSecret: string | null; redirectUri: string },
): Promise<RelyingParty> {
  const config = await oidc.discovery(
    new URL(issuer),
    client.clientId,
    client.clientSecret ?? undefined,
    client.clientSecret ? oidc.ClientSecretBasic(client.clientSecret) : oidc.None(),
    { execute: [oidc.allowInsecureRequests] },
  );
  return { config, redirectUri: client.redirectUri };
}

export interface AuthorizationRequest {
  url: URL;
  verifier: string;
  nonce: string;
  state: string;
}

export async function authorizationRequest(
  rp: RelyingParty,
  extra: Record<string, string> = {},
): Promise<AuthorizationRequest> {
  const verifier = oidc.randomPKCECodeVerifier();
  const nonce = oidc.randomNonce();
  const state = oidc.randomState();
  const url = oidc.buildAuthorizationUrl(rp.config, {
    redirect_uri: rp.redirectUri,
    scope: 'openid email profile',
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    nonce,
    state,
    ...extra,
  });
  return { url, verifier, nonce, state };
}

/** Drives the pages like a browser: start at the authorization URL, stop at the page or callback. */
export async function open(agent: Agent, url: URL, redirectUri: string) {
  const first = await agent.request(url);
  return agent.follow(first, url, (next) => next.href.startsWith(redirectUri));
}

type Page = { response: Response; url: URL };

async function submit(
  agent: Agent,
  page: Page,
  html: string,
  action: RegExp,
  fields: Record<string, string>,
  redirectUri: string,
) {
  const form = readForm(html, action);
  const target = new URL(form.action, page.url);
  const response = await agent.request(target, { form: { _csrf: form.csrf, ...fields } });
  return agent.follow(response, target, (next) => next.href.startsWith(redirectUri));
}

export async function submitLogin(agent: Agent, page: Page, email: string, password: string, redirectUri: string) {
  return submit(agent, page, await page.response.text(), /\/login$/, { email, password }, redirectUri);
}

/** Full sign-in through whatever pages come (login, consent); returns the callback URL with the code. */
export async function signIn(
  agent: Agent,
  rp: RelyingParty,
  request: AuthorizationRequest,
  email: string,
  password: string,
): Promise<URL> {
  let page = await open(agent, request.url, rp.redirectUri);
  for (let step = 0; step < 3 && !page.url.href.startsWith(rp.redirectUri); step++) {
    const html = await page.response.text();
    page = html.includes('/login"')
      ? await submit(agent, page, html, /\/login$/, { email, password }, rp.redirectUri)
      : await submit(agent, page, html, /\/confirm$/, {}, rp.redirectUri);
  }
  expect(page.url.href.startsWith(rp.redirectUri), `expected a redirect to the client, got ${page.url.href}`).toBe(
    true,
  );
  return page.url;
}

export async function exchange(
  rp: RelyingParty,
  callback: URL,
  request: AuthorizationRequest,
  checks: { maxAge?: number } = {},
) {
  return oidc.authorizationCodeGrant(rp.config, callback, {
    pkceCodeVerifier: request.verifier,
    expectedNonce: request.nonce,
    expectedState: request.state,
    idTokenExpected: true,
    ...(checks.maxAge !== undefined ? { maxAge: checks.maxAge } : {}),
  });
}

/**
 * A whole sign-in through the pages as a person would (password, the authenticator-app code when
 * asked for one, consent when shown), then the code exchange: the relying party's tokens.
 */
export async function signInForTokens(
  rp: RelyingParty,
  person: { email: string; password: string; totpCode?: () => string },
) {
  const agent = new Agent();
  const request = await authorizationRequest(rp);
  let page = await submitLogin(
    agent,
    await open(agent, request.url, rp.redirectUri),
    person.email,
    person.password,
    rp.redirectUri,
  );
  for (let i = 0; i < 2 && !page.url.href.startsWith(rp.redirectUri); i++) {
    const html = await page.response.text();
    const isCode = html.includes('name="factorId"');
    if (isCode && !person.totpCode) throw new Error(`${person.email} was asked for a code the test cannot give`);
    const form = readForm(html, isCode ? /\/verify\/[a-z]+$/ : /\/confirm$/);
    const fields: Record<string, string> = isCode
      ? { factorId: /name="factorId" value="([^"]+)"/.exec(html)![1]!, code: person.totpCode!() }
      : {};
    const target = new URL(form.action, page.url);
    page = await agent.follow(await agent.request(target, { form: { _csrf: form.csrf, ...fields } }), target, (u) =>
      u.href.startsWith(rp.redirectUri),
    );
  }
  return exchange(rp, page.url, request);
}
