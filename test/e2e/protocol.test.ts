import { createRemoteJWKSet, jwtVerify } from 'jose';
import * as oidc from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { ACR_PASSWORD } from '../../src/domain/authentication.ts';
import { Agent, readForm } from '../helpers/agent.ts';
import { skipReason } from '../helpers/backends.ts';
import {
  authorizationRequest,
  discoverRp,
  exchange,
  open,
  signIn,
  submitLogin,
  type RelyingParty,
} from '../helpers/rp.ts';
import { seedClient, seedUser, type Seeded } from '../helpers/seed.ts';
import { createTestClock } from '../helpers/clock.ts';
import { startTestServer, type Backend, type TestServer } from '../helpers/server.ts';

const scaleOutSkip = skipReason('postgres') ?? skipReason('redis');

describe.each<Backend>(['sqlite', 'postgres+redis'])('the sign-in journey with openid-client on %s', (backend) => {
  const skip = backend === 'postgres+redis' && scaleOutSkip !== null;
  // auth_time comes from the injected clock: start ten minutes in the past so max_age can run out.
  const clock = createTestClock(Date.now() - 600_000);
  let server: TestServer;
  let seeded: Seeded;
  let rp: RelyingParty;
  const agent = new Agent();

  beforeAll(async () => {
    if (skip) return;
    server = await startTestServer(backend, { clock });
    seeded = await seedUser(server.app);
    rp = await discoverRp(
      server.issuer,
      await seedClient(server.app, { postLogoutRedirectUri: 'https://rp.example/signed-out' }),
    );
  });
  afterAll(async () => server?.close());

  it.skipIf(skip)(
    'signs in with code + PKCE and issues a verifiable ID token with auth_time, acr and amr',
    async () => {
      const request = await authorizationRequest(rp, {
        scope: 'openid email profile offline_access',
        prompt: 'consent',
      });
      const callback = await signIn(agent, rp, request, 'Alice@Example.com', seeded.password);
      expect(callback.searchParams.get('iss')).toBe(server.issuer);
      const tokens = await exchange(rp, callback, request);

      const jwks = createRemoteJWKSet(new URL(`${server.issuer}/jwks`));
      const { payload, protectedHeader } = await jwtVerify(tokens.id_token!, jwks, {
        issuer: server.issuer,
        audience: rp.config.clientMetadata().client_id,
      });
      expect(protectedHeader.alg).toBe('RS256');
      expect(payload.nonce).toBe(request.nonce);
      expect(payload.sub).toBe(seeded.user.id);
      expect(payload.amr).toEqual(['pwd']);
      expect(payload.acr).toBe(ACR_PASSWORD);
      expect(payload.auth_time).toBe(Math.floor(clock.now() / 1000));

      const userinfo = await oidc.fetchUserInfo(rp.config, tokens.access_token, seeded.user.id);
      expect(userinfo).toMatchObject({ sub: seeded.user.id, email: 'alice@example.com', name: 'Alice Example' });

      // Refresh-token rotation: the new token works, the old one is spent.
      expect(tokens.refresh_token).toBeTruthy();
      const refreshed = await oidc.refreshTokenGrant(rp.config, tokens.refresh_token!);
      expect(refreshed.refresh_token).toBeTruthy();
      expect(refreshed.refresh_token).not.toBe(tokens.refresh_token);
      await expect(oidc.refreshTokenGrant(rp.config, tokens.refresh_token!)).rejects.toMatchObject({
        error: 'invalid_grant',
      });
      // Replaying a rotated refresh token is treated as theft (RFC 9700 §4.14.2): the grant is revoked.
      await expect(oidc.refreshTokenGrant(rp.config, refreshed.refresh_token!)).rejects.toMatchObject({
        error: 'invalid_grant',
      });
      const introspected = await oidc.tokenIntrospection(rp.config, refreshed.access_token);
      expect(introspected.active).toBe(false);
    },
  );

  it.skipIf(skip)(
    'reuses the session silently, and prompt=login makes the person sign in again with a new auth_time',
    async () => {
      // The session survives the revoked grant: consent again, without the password.
      const consentAgain = await authorizationRequest(rp);
      await exchange(rp, await signIn(agent, rp, consentAgain, 'unused@example.com', 'unused'), consentAgain);
      const silent = await authorizationRequest(rp, { prompt: 'none' });
      const first = await open(agent, silent.url, rp.redirectUri);
      expect(first.url.searchParams.get('code')).toBeTruthy();
      const before = (await exchange(rp, first.url, silent)).claims()!.auth_time!;

      clock.advance(120_000);
      const again = await authorizationRequest(rp, { prompt: 'login' });
      const page = await open(agent, again.url, rp.redirectUri);
      expect(page.url.pathname).toMatch(/^\/interaction\//);
      const done = await submitLogin(agent, page, 'alice@example.com', seeded.password, rp.redirectUri);
      const after = (await exchange(rp, done.url, again)).claims()!.auth_time!;
      expect(after).toBe(before + 120);
    },
  );

  it.skipIf(skip)('asks for the password again once max_age has run out, and moves auth_time', async () => {
    // The last sign-in was at the test clock's time, 8 minutes before real time: older than 300 s.
    const stale = await authorizationRequest(rp, { max_age: '300' });
    const page = await open(agent, stale.url, rp.redirectUri);
    expect(page.url.pathname).toMatch(/^\/interaction\//);
    clock.advance(480_000);
    const done = await submitLogin(agent, page, 'alice@example.com', seeded.password, rp.redirectUri);
    const claims = (await exchange(rp, done.url, stale, { maxAge: 300 })).claims()!;
    expect(claims.auth_time).toBe(Math.floor(clock.now() / 1000));
  });

  it.skipIf(skip)('signs out through RP-initiated logout, after which prompt=none needs a sign-in', async () => {
    const request = await authorizationRequest(rp, { prompt: 'none' });
    const tokens = await exchange(rp, (await open(agent, request.url, rp.redirectUri)).url, request);
    const endSession = oidc.buildEndSessionUrl(rp.config, {
      id_token_hint: tokens.id_token!,
      post_logout_redirect_uri: 'https://rp.example/signed-out',
      state: 'bye',
    });
    const confirm = await open(agent, endSession, 'https://rp.example/signed-out');
    const html = await confirm.response.text();
    expect(html).toContain('Sign out?');
    const action =
      /<form[^>]*id="op.logoutForm"[^>]*action="([^"]+)"/.exec(html)?.[1] ??
      /action="([^"]+)"[^>]*id="op.logoutForm"/.exec(html)?.[1];
    const xsrf = /name="xsrf" value="([^"]+)"/.exec(html)?.[1];
    expect(action && xsrf).toBeTruthy();
    const target = new URL(action!, confirm.url);
    const posted = await agent.request(target, { form: { xsrf: xsrf!, logout: 'yes' } });
    const landed = await agent.follow(posted, target, (next) => next.href.startsWith('https://rp.example/signed-out'));
    expect(landed.url.searchParams.get('state')).toBe('bye');

    const after = await authorizationRequest(rp, { prompt: 'none' });
    const result = await open(agent, after.url, rp.redirectUri);
    expect(result.url.searchParams.get('error')).toBe('login_required');
  });

  it.skipIf(skip)('never lets a form without its CSRF token sign anyone in', async () => {
    const fresh = new Agent();
    const request = await authorizationRequest(rp);
    const page = await open(fresh, request.url, rp.redirectUri);
    const form = readForm(await page.response.text(), /\/login$/);
    const response = await fresh.request(new URL(form.action, page.url), {
      form: { email: 'alice@example.com', password: seeded.password },
    });
    expect(response.status).toBe(403);
    expect(response.headers.get('location')).toBeNull();
  });
});
