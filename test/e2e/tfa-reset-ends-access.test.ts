import * as oidc from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { Agent } from '../helpers/agent.ts';
import { skipReason } from '../helpers/backends.ts';
import { createTestClock } from '../helpers/clock.ts';
import {
  authorizationRequest,
  discoverRp,
  exchange,
  open,
  type AuthorizationRequest,
  type RelyingParty,
} from '../helpers/rp.ts';
import { enrolTotp, seedClient, seedUser, type Seeded } from '../helpers/seed.ts';
import { startTestServer, type Backend, type TestServer } from '../helpers/server.ts';
import { oidcSessions } from '../helpers/oidc-session.ts';

const scaleOutSkip = skipReason('postgres') ?? skipReason('redis');

/**
 * Issues 8 and 9: a TFA reset removed the factors but left the person signed in everywhere, with
 * sessions and tokens that still said amr mfa. The reset must end all of it at once.
 */
describe.each<Backend>(['sqlite', 'postgres+redis'])('a TFA reset ends every access of the person on %s', (backend) => {
  const skip = backend === 'postgres+redis' && scaleOutSkip !== null;
  const clock = createTestClock();
  let server: TestServer;
  let rp: RelyingParty;

  beforeAll(async () => {
    if (skip) return;
    server = await startTestServer(backend, { clock });
    rp = await discoverRp(server.issuer, await seedClient(server.app));
  });
  afterAll(async () => server?.close());

  const person = (seeded: Seeded) => ({ orgId: seeded.org.id, userId: seeded.user.id, email: seeded.user.email });

  /** One person with an authenticator app, in an organization that enforces TFA (so app passwords apply). */
  async function seedPerson(name: string) {
    const seeded = await seedUser(server.app, { email: `${name}-${backend}@example.com`, enforceTfa: true });
    const { secret } = await enrolTotp(server.app, seeded, clock.now());
    return { seeded, secret };
  }

  /** A silent authorization request on the browser's session (OIDC Core §3.1.2.1 prompt=none). */
  async function silently(agent: Agent): Promise<{ url: URL; request: AuthorizationRequest }> {
    const request = await authorizationRequest(rp, { scope: 'openid', prompt: 'none' });
    return { url: (await open(agent, request.url, rp.redirectUri)).url, request };
  }

  const { signInWithTotp, isActive } = oidcSessions({ rp: () => rp, clock });

  it.skipIf(skip)(
    'the access token introspects inactive, the refresh token is invalid_grant and prompt=none needs a sign-in',
    async () => {
      const { seeded, secret } = await seedPerson('ada');
      const agent = new Agent();
      const tokens = await signInWithTotp(agent, seeded, secret);
      // Before the reset all of it works: the session answers prompt=none with a code.
      const before = await silently(agent);
      expect(before.url.searchParams.get('code')).toBeTruthy();
      const silent = await exchange(rp, before.url, before.request);
      expect(await isActive(tokens.access_token)).toBe(true);

      await server.app.services.tfaReset.resetTfa(person(seeded), { actor: 'cli' });

      expect(await isActive(tokens.access_token)).toBe(false);
      expect(await isActive(silent.access_token)).toBe(false);
      await expect(oidc.refreshTokenGrant(rp.config, tokens.refresh_token!)).rejects.toMatchObject({
        error: 'invalid_grant',
      });
      const after = await silently(agent);
      expect(after.url.searchParams.get('error')).toBe('login_required');
      expect(after.url.searchParams.get('code')).toBeNull();
    },
  );

  it.skipIf(skip)(
    'a refresh token that outlived its browser session (signed out, offline_access) ends too',
    async () => {
      const { seeded, secret } = await seedPerson('grace');
      const agent = new Agent();
      const tokens = await signInWithTotp(agent, seeded, secret);
      await signOut(agent, tokens.id_token!);
      // RP-initiated logout keeps an offline_access grant: the app still refreshes without the session.
      const refreshed = await oidc.refreshTokenGrant(rp.config, tokens.refresh_token!);
      expect((await silently(agent)).url.searchParams.get('error')).toBe('login_required');

      await server.app.services.tfaReset.resetTfa(person(seeded), { actor: 'cli' });

      expect(await isActive(refreshed.access_token)).toBe(false);
      await expect(oidc.refreshTokenGrant(rp.config, refreshed.refresh_token!)).rejects.toMatchObject({
        error: 'invalid_grant',
      });
    },
  );

  it.skipIf(skip)('an app password kept through the reset signs in again, while the token it had ends', async () => {
    const { seeded } = await seedPerson('edsger');
    const mail = await mailServer('dovecot');
    const { password } = await server.app.services.appPasswords.create(
      person(seeded),
      seeded.org,
      true,
      { name: 'Thunderbird', scopes: ['imap'] },
      '127.0.0.1',
    );
    const signInToMail = () => oidc.genericGrantRequest(mail, 'password', { username: seeded.user.email, password });
    const isActiveAtMail = async (token: string) => (await oidc.tokenIntrospection(mail, token)).active;
    // The second sign-in finds the grant the first saved: from then on this node knows it as saved.
    await signInToMail();
    const before = await signInToMail();
    expect(await isActiveAtMail(before.access_token)).toBe(true);

    await server.app.services.tfaReset.resetTfa(person(seeded), { actor: 'cli' }, { keepAppPasswords: true });

    expect(await isActiveAtMail(before.access_token)).toBe(false);
    // The grant of a kept app password stays, or this node would issue tokens of a missing grant.
    const again = await signInToMail();
    expect(await isActiveAtMail(again.access_token)).toBe(true);
  });

  /** Signs out at the end-session endpoint, confirming as the person would (OIDC RP-Initiated Logout §2). */
  async function signOut(agent: Agent, idToken: string): Promise<void> {
    const signedOut = 'https://rp.example/signed-out';
    const url = oidc.buildEndSessionUrl(rp.config, { id_token_hint: idToken, post_logout_redirect_uri: signedOut });
    const confirm = await open(agent, url, signedOut);
    const html = await confirm.response.text();
    const action = /<form[^>]*action="([^"]+)"/.exec(html)![1]!;
    const xsrf = /name="xsrf" value="([^"]+)"/.exec(html)![1]!;
    const target = new URL(action, confirm.url);
    const posted = await agent.request(target, { form: { xsrf, logout: 'yes' } });
    const landed = await agent.follow(posted, target, (next) => next.href.startsWith(signedOut));
    expect(landed.url.href.startsWith(signedOut)).toBe(true);
  }

  /** A mail server that exchanges app passwords for tokens and introspects them (like Dovecot). */
  async function mailServer(clientId: string) {
    const { secret } = await server.app.services.clients.registerClient({
      clientId,
      grants: ['password'],
      authMethod: 'client_secret_post',
      introspection: true,
    });
    return oidc.discovery(new URL(server.issuer), clientId, secret!, oidc.ClientSecretPost(secret!), {
      execute: [oidc.allowInsecureRequests],
    });
  }
});
