import * as oidc from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { skipReason } from '../helpers/backends.ts';
import { enrolTotp, PASSWORD, seedUser, type Seeded } from '../helpers/seed.ts';
import { createTestClock, startTestServer, type Backend, type TestServer } from '../helpers/server.ts';

const scaleOutSkip = skipReason('postgres') ?? skipReason('redis');

/** A mail server (Dovecot-like: credentials in the body) and a second resource server, as openid-client sees them. */
async function resourceServer(
  server: TestServer,
  clientId: string,
  options: { introspection: boolean; grant: boolean },
) {
  const { secret } = await server.app.services.clients.registerClient({
    clientId,
    grants: options.grant ? ['password'] : ['client_credentials'],
    authMethod: 'client_secret_post',
    introspection: options.introspection,
  });
  const config = await oidc.discovery(new URL(server.issuer), clientId, secret!, oidc.ClientSecretPost(secret!), {
    execute: [oidc.allowInsecureRequests],
  });
  return { config, secret: secret! };
}

describe.each<Backend>(['sqlite', 'postgres+redis'])('the legacy password grant on %s', (backend) => {
  const skip = backend === 'postgres+redis' && scaleOutSkip !== null;
  const clock = createTestClock();
  let server: TestServer;
  let mail: Awaited<ReturnType<typeof resourceServer>>;
  let other: Awaited<ReturnType<typeof resourceServer>>;
  let tfaPerson: Seeded;
  let appPassword: { id: string; password: string };

  const person = (s: Seeded) => ({ orgId: s.org.id, userId: s.user.id, email: s.user.email });
  const grant = (username: string, password: string, extra: Record<string, string> = {}) =>
    oidc.genericGrantRequest(mail.config, 'password', { username, password, ...extra });
  const refusal = async (username: string, password: string) => {
    const error = await grant(username, password).then(
      () => undefined,
      (e: unknown) => e as oidc.ResponseBodyError,
    );
    return error && { status: error.status, error: error.error };
  };

  beforeAll(async () => {
    if (skip) return;
    server = await startTestServer(backend, { clock });
    mail = await resourceServer(server, 'dovecot', { introspection: true, grant: true });
    other = await resourceServer(server, 'other-rs', { introspection: false, grant: false });
    tfaPerson = await seedUser(server.app, { email: `ada-${backend}@example.com` });
    await enrolTotp(server.app, tfaPerson, clock.now());
    const created = await server.app.services.appPasswords.create(
      person(tfaPerson),
      tfaPerson.org,
      true,
      { name: 'Thunderbird', scopes: ['imap', 'smtp'] },
      '127.0.0.1',
    );
    appPassword = { id: created.summary.id, password: created.password };
  });
  afterAll(async () => server?.close());

  it.skipIf(skip)(
    'exchanges an app password for a short-lived opaque token, whatever the username case and spacing',
    async () => {
      const tokens = await grant(tfaPerson.user.email.toUpperCase(), appPassword.password.replaceAll(' ', ''));
      expect(tokens.token_type.toLowerCase()).toBe('bearer');
      expect(tokens.expires_in).toBe(300);
      expect(tokens.scope).toBe('imap smtp');
      expect(tokens.access_token.split('.')).toHaveLength(1);
      expect(tokens.id_token).toBeUndefined();
      expect(tokens.refresh_token).toBeUndefined();
    },
  );

  it.skipIf(skip)(
    'introspects to the person, the app password and a password-only authentication, never mfa',
    async () => {
      const tokens = await grant(tfaPerson.user.email, appPassword.password);
      const introspected = await oidc.tokenIntrospection(mail.config, tokens.access_token);
      expect(introspected).toMatchObject({
        active: true,
        sub: tfaPerson.user.id,
        username: tfaPerson.user.email,
        email: tfaPerson.user.email,
        scope: 'imap smtp',
        client_id: 'dovecot',
        app_password_id: appPassword.id,
        amr: ['pwd'],
        auth_time: Math.floor(clock.now() / 1000),
      });
      expect(introspected.amr).not.toContain('mfa');
      expect(typeof introspected.exp).toBe('number');
    },
  );

  it.skipIf(skip)("answers introspection of another client's token only to registered resource servers", async () => {
    const tokens = await grant(tfaPerson.user.email, appPassword.password);
    expect((await oidc.tokenIntrospection(other.config, tokens.access_token)).active).toBe(false);
    expect((await oidc.tokenIntrospection(mail.config, tokens.access_token)).active).toBe(true);
  });

  it.skipIf(skip)(
    'narrows the token to the scopes asked for, and refuses a protocol the app password does not allow',
    async () => {
      expect((await grant(tfaPerson.user.email, appPassword.password, { scope: 'imap' })).scope).toBe('imap');
      const dav = await oidc
        .genericGrantRequest(mail.config, 'password', {
          username: tfaPerson.user.email,
          password: appPassword.password,
          scope: 'dav',
        })
        .then(
          () => undefined,
          (e: unknown) => (e as oidc.ResponseBodyError).error,
        );
      expect(dav).toBe('invalid_grant');
      const unknown = await oidc
        .genericGrantRequest(mail.config, 'password', {
          username: tfaPerson.user.email,
          password: appPassword.password,
          scope: 'openid',
        })
        .then(
          () => undefined,
          (e: unknown) => (e as oidc.ResponseBodyError).error,
        );
      expect(unknown).toBe('invalid_scope');
    },
  );

  it.skipIf(skip)('answers every failure with the same 400 invalid_grant', async () => {
    const failures = [
      [tfaPerson.user.email, PASSWORD], // the account password while TFA applies
      [tfaPerson.user.email, 'abcd efgh jkmn pqrs tuvw'], // a wrong app password
      [`nobody-${backend}@example.com`, appPassword.password], // someone else's username
      [`nobody-${backend}@example.com`, 'whatever'],
    ] as const;
    for (const [username, password] of failures) {
      expect(await refusal(username, password), `${username} / ${password}`).toEqual({
        status: 400,
        error: 'invalid_grant',
      });
    }
  });

  it.skipIf(skip)(
    'revoking the app password makes its tokens inactive at once and refuses the next grant',
    async () => {
      const created = await server.app.services.appPasswords.create(
        person(tfaPerson),
        tfaPerson.org,
        true,
        { name: 'Old phone', scopes: ['imap'] },
        '127.0.0.1',
      );
      const tokens = await grant(tfaPerson.user.email, created.password);
      expect((await oidc.tokenIntrospection(mail.config, tokens.access_token)).active).toBe(true);
      await server.app.services.appPasswords.revoke(person(tfaPerson), created.summary.id, '127.0.0.1');
      expect((await oidc.tokenIntrospection(mail.config, tokens.access_token)).active).toBe(false);
      expect(await refusal(tfaPerson.user.email, created.password)).toEqual({ status: 400, error: 'invalid_grant' });
      // The other app password is untouched.
      expect((await grant(tfaPerson.user.email, appPassword.password)).access_token).toBeTruthy();
    },
  );

  it.skipIf(skip)('accepts the account password only where the organization allows it and no TFA applies', async () => {
    const open = await server.app.services.organizations.createOrganization({
      slug: backend === 'sqlite' ? 'legacy-one' : 'legacy-two',
      legacyPasswordAccess: true,
    });
    const plain = await seedUser(server.app, { slug: open.slug, email: `plain-${backend}@example.com` });
    const tokens = await grant(plain.user.email, PASSWORD);
    const introspected = await oidc.tokenIntrospection(mail.config, tokens.access_token);
    expect(introspected).toMatchObject({
      active: true,
      username: plain.user.email,
      app_password_id: null,
      amr: ['pwd'],
    });
    await enrolTotp(server.app, plain, clock.now());
    expect(await refusal(plain.user.email, PASSWORD)).toEqual({ status: 400, error: 'invalid_grant' });
    const strict = await seedUser(server.app, { email: `strict-${backend}@example.com` });
    expect(await refusal(strict.user.email, PASSWORD)).toEqual({ status: 400, error: 'invalid_grant' });
  });
});
