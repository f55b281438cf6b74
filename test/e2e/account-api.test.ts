import * as oidc from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { ACR_MFA } from '../../src/domain/authentication.ts';
import { discoverRp, signInForTokens, type RelyingParty } from '../helpers/rp.ts';
import { enrolTotp, seedClient, seedUser, type Seeded } from '../helpers/seed.ts';
import { createTestClock } from '../helpers/clock.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { totpAt } from '../helpers/totp.ts';

/** The account JSON API for first-party apps: bearer tokens and the RFC 9470 step-up challenge. */
describe('the account API', () => {
  const clock = createTestClock(Date.now() - 1_200_000);
  let server: TestServer;
  let seeded: Seeded;
  let secret: Buffer;
  let app: RelyingParty;
  let thirdParty: RelyingParty;
  let firstPartyOnly: RelyingParty;

  beforeAll(async () => {
    server = await startTestServer('sqlite', { clock });
    seeded = await seedUser(server.app, { email: 'api@example.com' });
    ({ secret } = await enrolTotp(server.app, seeded, clock.now(), 'Phone', { recoveryCodes: true }));
    app = await discoverRp(
      server.issuer,
      await seedClient(server.app, { id: 'first-party-app', accountApi: true, redirectUri: 'https://app.example/cb' }),
    );
    firstPartyOnly = await discoverRp(
      server.issuer,
      await seedClient(server.app, { id: 'portal', firstParty: true, redirectUri: 'https://portal.example/cb' }),
    );
    thirdParty = await discoverRp(
      server.issuer,
      await seedClient(server.app, { id: 'third', redirectUri: 'https://third.example/cb' }),
    );
  });
  afterAll(async () => server?.close());

  async function tokensFor(rp: RelyingParty) {
    clock.advance(30_000);
    return signInForTokens(rp, {
      email: seeded.user.email,
      password: seeded.password,
      totpCode: () => totpAt(secret, clock.now() / 1000),
    });
  }

  const call = (method: string, path: string, token: string, body?: unknown) =>
    fetch(`${server.issuer}/api/account${path}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        accept: 'application/json',
        ...(body ? { 'content-type': 'application/json' } : {}),
      },
      body: body ? JSON.stringify(body) : undefined,
    });

  it('puts auth_time, acr and amr into access tokens, as introspection shows', async () => {
    const tokens = await tokensFor(app);
    const introspected = await oidc.tokenIntrospection(app.config, tokens.access_token);
    expect(introspected).toMatchObject({
      active: true,
      acr: ACR_MFA,
      amr: ['pwd', 'otp', 'mfa'],
      auth_time: Math.floor(clock.now() / 1000),
    });
  });

  it('answers a fresh token, and a stale one with the RFC 9470 challenge', async () => {
    const tokens = await tokensFor(app);
    const overview = await call('GET', '/security', tokens.access_token);
    expect(overview.status).toBe(200);
    expect(await overview.json()).toMatchObject({ tfa_enabled: true, reason: 'own', recovery_codes_left: 10 });

    const fresh = await call('POST', '/recovery-codes', tokens.access_token);
    expect(fresh.status).toBe(200);
    expect(((await fresh.json()) as { recovery_codes: string[] }).recovery_codes).toHaveLength(10);

    clock.advance(301_000);
    const stale = await call('POST', '/recovery-codes', tokens.access_token);
    expect(stale.status).toBe(401);
    expect(stale.headers.get('www-authenticate')).toBe(
      'Bearer error="insufficient_user_authentication", error_description="A more recent authentication is required for this change.", max_age=300, acr_values="urn:twofold:acr:mfa"',
    );
    expect(await stale.json()).toMatchObject({ error: 'insufficient_user_authentication' });
    // Reading is not a change: the overview still answers.
    expect((await call('GET', '/security', tokens.access_token)).status).toBe(200);

    // A new sign-in (the client honouring max_age=300) makes the change possible again.
    const again = await tokensFor(app);
    expect((await call('PUT', '/preferred-method', again.access_token, { method_id: 'not-mine' })).status).toBe(404);
  });

  it('refuses missing, forged and third-party tokens with invalid_token, and bad bodies with a 4xx', async () => {
    for (const token of ['', 'forged-token', 'a b']) {
      const response = await call('GET', '/security', token);
      expect(response.status).toBe(401);
      expect(response.headers.get('www-authenticate')).toMatch(/^Bearer error="invalid_token"/);
    }
    const third = await tokensFor(thirdParty);
    expect((await call('GET', '/security', third.access_token)).status).toBe(401);
    // Skipping consent is not a licence to change people's security settings.
    const portal = await tokensFor(firstPartyOnly);
    expect((await call('GET', '/security', portal.access_token)).status).toBe(401);

    const mine = await tokensFor(app);
    const garbage = await fetch(`${server.issuer}/api/account/preferred-method`, {
      method: 'PUT',
      headers: {
        authorization: `Bearer ${mine.access_token}`,
        'content-type': 'application/json',
        accept: 'application/json',
      },
      body: '{not json',
    });
    expect(garbage.status).toBe(400);
    expect(await garbage.json()).toMatchObject({ error: 'invalid_request' });
    expect((await call('PUT', '/preferred-method', mine.access_token, { method_id: 42 })).status).toBe(400);
    expect((await call('DELETE', '/methods/nope', mine.access_token)).status).toBe(404);
  });
});
