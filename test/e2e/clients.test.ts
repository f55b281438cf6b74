import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { Agent } from '../helpers/agent.ts';
import { authorizationRequest, discoverRp, exchange, open, signIn, submitLogin } from '../helpers/rp.ts';
import { seedClient, seedUser, type Seeded } from '../helpers/seed.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

/** Kinds of relying parties: first-party web apps and native apps (RFC 8252). */
describe('client kinds', () => {
  let server: TestServer;
  let seeded: Seeded;

  beforeAll(async () => {
    server = await startTestServer('sqlite');
    seeded = await seedUser(server.app);
  });
  afterAll(async () => server?.close());

  it('skips the consent screen for a first-party client', async () => {
    const rp = await discoverRp(
      server.issuer,
      await seedClient(server.app, { id: 'portal', firstParty: true, redirectUri: 'https://portal.example/cb' }),
    );
    const agent = new Agent();
    const request = await authorizationRequest(rp);
    const page = await open(agent, request.url, rp.redirectUri);
    const done = await submitLogin(agent, page, 'alice@example.com', seeded.password, rp.redirectUri);
    expect(done.url.href.startsWith(rp.redirectUri)).toBe(true);
    const claims = (await exchange(rp, done.url, request)).claims()!;
    expect(claims.sub).toBe(seeded.user.id);
  });

  it('lets a public native app sign in on a loopback redirect with any port, and with a private-use scheme', async () => {
    const client = await seedClient(server.app, {
      id: 'desktop',
      public: true,
      redirectUri: 'http://127.0.0.1/callback',
    });
    expect(client.clientSecret).toBeNull();
    const rp = await discoverRp(server.issuer, { ...client, redirectUri: 'http://127.0.0.1:51789/callback' });
    const agent = new Agent();
    const request = await authorizationRequest(rp);
    const page = await open(agent, request.url, rp.redirectUri);
    const done = await submitLogin(agent, page, 'alice@example.com', seeded.password, rp.redirectUri);
    const consent = await done.response.text();
    expect(consent).toContain('Allow access');
    const form = /action="([^"]+\/confirm)"[\s\S]*?name="_csrf" value="([^"]+)"/.exec(consent)!;
    const target = new URL(form[1]!, done.url);
    const landed = await agent.follow(await agent.request(target, { form: { _csrf: form[2]! } }), target, (u) =>
      u.href.startsWith(rp.redirectUri),
    );
    expect(landed.url.host).toBe('127.0.0.1:51789');
    const tokens = await exchange(rp, landed.url, request);
    expect(tokens.claims()!.sub).toBe(seeded.user.id);

    const mobile = await seedClient(server.app, {
      id: 'mobile',
      public: true,
      redirectUri: 'com.example.mobile:/oauth',
    });
    const mobileRp = await discoverRp(server.issuer, mobile);
    const mobileRequest = await authorizationRequest(mobileRp);
    const redirect = await open(agent, mobileRequest.url, 'com.example.mobile:/oauth');
    // Same browser session: straight to consent for this new client.
    expect(redirect.url.pathname).toMatch(/^\/interaction\//);
  });

  it('refuses a public client that presents no PKCE verifier at the token endpoint', async () => {
    const client = await seedClient(server.app, { id: 'spa-like', public: true, redirectUri: 'http://localhost/cb' });
    const response = await fetch(`${server.issuer}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'authorization_code',
        code: 'anything',
        client_id: client.clientId,
        redirect_uri: client.redirectUri,
      }),
    });
    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: string }).error).toMatch(/invalid_(request|grant)/);
  });

  it('publishes discovery metadata a certified client expects', async () => {
    const rp = await discoverRp(server.issuer, await seedClient(server.app, { id: 'meta' }));
    const metadata = rp.config.serverMetadata();
    expect(metadata.code_challenge_methods_supported).toEqual(['S256']);
    expect(metadata.response_types_supported).toEqual(['code']);
    expect(metadata.acr_values_supported).toEqual(['urn:twofold:acr:pwd', 'urn:twofold:acr:mfa']);
    expect(metadata.claims_supported).toEqual(
      expect.arrayContaining(['sub', 'acr', 'amr', 'auth_time', 'email', 'name']),
    );
    expect(metadata.introspection_endpoint).toBe(`${server.issuer}/token/introspection`);
    expect(metadata.revocation_endpoint).toBe(`${server.issuer}/token/revocation`);
    expect(metadata.end_session_endpoint).toBe(`${server.issuer}/session/end`);
    expect(metadata.id_token_signing_alg_values_supported).toEqual(expect.arrayContaining(['RS256', 'ES256']));
    const jwks = (await (await fetch(`${server.issuer}/jwks`)).json()) as { keys: { kid: string; d?: string }[] };
    expect(new Set(jwks.keys.map((k) => k.kid)).size).toBe(jwks.keys.length);
    expect(jwks.keys.every((k) => k.d === undefined)).toBe(true);
  });
});

/**
 * Issue 8: a relying party on a loopback address that holds a secret is a web app in development
 * (or a server-side RP behind a local proxy), not a native app; first-party means no consent page.
 */
describe('issue 8: relying parties on loopback and private-use redirects', () => {
  let server: TestServer;
  let seeded: Seeded;

  beforeAll(async () => {
    server = await startTestServer('sqlite');
    seeded = await seedUser(server.app);
  });
  afterAll(async () => server?.close());

  /** Signs Alice in to a first-party client and checks no consent page came between her and its code. */
  async function signInWithoutConsent(client: Awaited<ReturnType<typeof seedClient>>) {
    const rp = await discoverRp(server.issuer, client);
    const agent = new Agent();
    const request = await authorizationRequest(rp);
    const page = await open(agent, request.url, rp.redirectUri);
    const done = await submitLogin(agent, page, 'alice@example.com', seeded.password, rp.redirectUri);
    expect(done.url.href.startsWith(rp.redirectUri), `no consent page, got ${done.url.href}`).toBe(true);
    expect((await exchange(rp, done.url, request)).claims()!.sub).toBe(seeded.user.id);
    return { rp, agent };
  }

  it('signs a first-party confidential client on http://localhost in without consent, then answers prompt=none with a code', async () => {
    const client = await seedClient(server.app, {
      id: 'dev-portal',
      firstParty: true,
      redirectUri: 'http://localhost:8123/cb',
    });
    const { rp, agent } = await signInWithoutConsent(client);

    // OIDC Core §3.1.2.1: an authenticated session and a standing grant answer prompt=none silently.
    const silent = await authorizationRequest(rp, { prompt: 'none' });
    const answer = await open(agent, silent.url, rp.redirectUri);
    expect(answer.url.searchParams.get('error')).toBeNull();
    expect((await exchange(rp, answer.url, silent)).claims()!.sub).toBe(seeded.user.id);
  });

  it('asks a third-party confidential client on http://localhost for consent once, then answers prompt=none', async () => {
    const rp = await discoverRp(
      server.issuer,
      await seedClient(server.app, { id: 'dev-wiki', redirectUri: 'http://127.0.0.1:8124/cb' }),
    );
    const agent = new Agent();
    const request = await authorizationRequest(rp);
    await exchange(rp, await signIn(agent, rp, request, 'alice@example.com', seeded.password), request);
    const silent = await authorizationRequest(rp, { prompt: 'none' });
    const answer = await open(agent, silent.url, rp.redirectUri);
    expect(answer.url.searchParams.get('error')).toBeNull();
    expect(answer.url.searchParams.get('code')).toBeTruthy();
  });

  it('signs a first-party public native app (private-use scheme) in without a consent page', async () => {
    const client = await seedClient(server.app, {
      id: 'own-mobile',
      public: true,
      firstParty: true,
      redirectUri: 'com.example.own:/oauth',
    });
    const { rp, agent } = await signInWithoutConsent(client);

    // RFC 8252 §8.6: any app can claim a private-use scheme, so a public native client is never
    // answered without the person taking part (oidc-provider's native_client_prompt).
    const silent = await authorizationRequest(rp, { prompt: 'none' });
    const answer = await open(agent, silent.url, rp.redirectUri);
    expect(answer.url.searchParams.get('error')).toBe('interaction_required');
    const again = await open(agent, (await authorizationRequest(rp)).url, rp.redirectUri);
    expect(again.url.pathname).toMatch(/^\/interaction\//);
  });
});
