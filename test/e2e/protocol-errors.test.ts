import * as oidc from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { Agent } from '../helpers/agent.ts';
import { authorizationRequest, discoverRp, exchange, open, signIn, type RelyingParty } from '../helpers/rp.ts';
import { seedClient, seedUser, type Seeded } from '../helpers/seed.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

/** Bad requests get RFC 6749 / OIDC error responses (or a human error page where no redirect is safe), never a 500. */
describe('protocol errors', () => {
  let server: TestServer;
  let seeded: Seeded;
  let rp: RelyingParty;
  let client: { clientId: string; clientSecret: string | null; redirectUri: string };
  const agent = new Agent();

  beforeAll(async () => {
    server = await startTestServer('sqlite');
    seeded = await seedUser(server.app);
    client = await seedClient(server.app);
    rp = await discoverRp(server.issuer, client);
  });
  afterAll(async () => server?.close());

  const authUrl = (params: Record<string, string>) => {
    const url = new URL(`${server.issuer}/auth`);
    for (const [key, value] of Object.entries(params)) url.searchParams.set(key, value);
    return url;
  };
  const validParams = () => ({
    client_id: client.clientId,
    redirect_uri: client.redirectUri,
    response_type: 'code',
    scope: 'openid',
    code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
    code_challenge_method: 'S256',
    state: 'xyz',
  });

  it('shows an error page and never redirects to an unregistered redirect_uri', async () => {
    const response = await agent.request(authUrl({ ...validParams(), redirect_uri: 'https://evil.example/steal' }));
    expect(response.status).toBe(400);
    expect(response.headers.get('location')).toBeNull();
    const html = await response.text();
    expect(html).toContain('This request cannot be completed');
    expect(html).toContain('redirect_uri');
  });

  it('shows an error page for an unknown client, without redirecting', async () => {
    const response = await agent.request(authUrl({ ...validParams(), client_id: 'no-such-client' }));
    expect(response.status).toBe(400);
    expect(response.headers.get('location')).toBeNull();
    expect(await response.text()).toContain('invalid_client');
  });

  it('requires PKCE from every client, confidential ones included', async () => {
    const { code_challenge: _c, code_challenge_method: _m, ...withoutPkce } = validParams();
    const response = await agent.request(authUrl(withoutPkce));
    const location = new URL(response.headers.get('location')!);
    expect(location.origin + location.pathname).toBe(client.redirectUri);
    expect(location.searchParams.get('error')).toBe('invalid_request');
    expect(location.searchParams.get('error_description')).toMatch(/PKCE/);
  });

  it('refuses the plain PKCE method', async () => {
    const response = await agent.request(authUrl({ ...validParams(), code_challenge_method: 'plain' }));
    const location = new URL(response.headers.get('location')!);
    expect(location.searchParams.get('error')).toBe('invalid_request');
  });

  it('refuses response types other than code', async () => {
    const response = await agent.request(authUrl({ ...validParams(), response_type: 'token' }));
    // Implicit-style response types default to the fragment response mode (OAuth 2.0 Multiple Response Types §5).
    const location = new URL(response.headers.get('location')!);
    expect(location.origin + location.pathname).toBe(client.redirectUri);
    expect(new URLSearchParams(location.hash.slice(1)).get('error')).toBe('unsupported_response_type');
  });

  it('answers malformed authorization parameters with RFC errors, never a 500', async () => {
    const cases: Record<string, string>[] = [
      { ...validParams(), scope: 'email' },
      { ...validParams(), prompt: 'bogus' },
      { ...validParams(), max_age: 'not-a-number' },
      { ...validParams(), claims: '{not json' },
      { ...validParams(), code_challenge: 'short' },
      { client_id: client.clientId },
      { ...validParams(), state: 'x'.repeat(5000) },
    ];
    for (const params of cases) {
      const response = await agent.request(authUrl(params));
      expect(response.status, JSON.stringify(params).slice(0, 200)).toBeLessThan(500);
      const location = response.headers.get('location');
      if (location && !location.startsWith('/interaction/'))
        expect(new URL(location).searchParams.get('error')).toBeTruthy();
    }
  });

  it('fails the code exchange with a wrong PKCE verifier', async () => {
    const request = await authorizationRequest(rp);
    const callback = await signIn(agent, rp, request, 'alice@example.com', seeded.password);
    await expect(exchange(rp, callback, { ...request, verifier: oidc.randomPKCECodeVerifier() })).rejects.toMatchObject(
      { error: 'invalid_grant' },
    );
  });

  it('refuses a reused authorization code and revokes what its first use issued', async () => {
    const request = await authorizationRequest(rp);
    const callback = await signIn(agent, rp, request, 'alice@example.com', seeded.password);
    const tokens = await exchange(rp, callback, request);
    expect((await oidc.tokenIntrospection(rp.config, tokens.access_token)).active).toBe(true);
    await expect(exchange(rp, callback, request)).rejects.toMatchObject({ error: 'invalid_grant' });
    expect((await oidc.tokenIntrospection(rp.config, tokens.access_token)).active).toBe(false);
  });

  it('answers token endpoint misuse with RFC 6749 JSON errors', async () => {
    const basic = `Basic ${Buffer.from(`${client.clientId}:${client.clientSecret}`).toString('base64')}`;
    const post = (body: Record<string, string>, headers: Record<string, string> = { authorization: basic }) =>
      fetch(`${server.issuer}/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
        body: new URLSearchParams(body),
      });
    const unsupported = await post({ grant_type: 'urn:example:nope' });
    expect(unsupported.status).toBe(400);
    expect(await unsupported.json()).toMatchObject({ error: 'unsupported_grant_type' });

    const badCode = await post({
      grant_type: 'authorization_code',
      code: 'forged',
      redirect_uri: client.redirectUri,
      code_verifier: 'a'.repeat(43),
    });
    expect(await badCode.json()).toMatchObject({ error: 'invalid_grant' });

    const noAuth = await post({ grant_type: 'authorization_code', code: 'x' }, {});
    expect(noAuth.status).toBe(400);
    expect(((await noAuth.json()) as { error: string }).error).toMatch(/invalid_(client|request)/);

    const wrongSecret = await post(
      { grant_type: 'refresh_token', refresh_token: 'x' },
      { authorization: `Basic ${Buffer.from(`${client.clientId}:wrong`).toString('base64')}` },
    );
    expect(wrongSecret.status).toBe(401);
    expect(await wrongSecret.json()).toMatchObject({ error: 'invalid_client' });
  });

  it('revokes a refresh token at the revocation endpoint (RFC 7009)', async () => {
    const request = await authorizationRequest(rp, { scope: 'openid offline_access', prompt: 'consent' });
    const tokens = await exchange(rp, await signIn(agent, rp, request, 'alice@example.com', seeded.password), request);
    await oidc.tokenRevocation(rp.config, tokens.refresh_token!);
    await expect(oidc.refreshTokenGrant(rp.config, tokens.refresh_token!)).rejects.toMatchObject({
      error: 'invalid_grant',
    });
  });

  it('keeps a garbage interaction id on a human error page', async () => {
    for (const uid of ['nope', 'A'.repeat(40), '%00', '..%2F..%2Fetc']) {
      const response = await agent.request(`${server.issuer}/interaction/${uid}`);
      expect(response.status).toBe(400);
      expect(await response.text()).toContain('This sign-in page has expired');
    }
  });

  it('serves the sign-in page again after a session-less prompt=none attempt fails cleanly', async () => {
    const fresh = new Agent();
    const request = await authorizationRequest(rp, { prompt: 'none' });
    const result = await open(fresh, request.url, rp.redirectUri);
    expect(result.url.searchParams.get('error')).toBe('login_required');
  });
});
