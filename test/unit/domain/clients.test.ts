import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { classifyRedirectUri, createClients, type Clients, type NewClientInput } from '../../../src/domain/clients.ts';
import { AppError } from '../../../src/domain/errors.ts';
import { createCryptoRandom } from '../../../src/ports/random.ts';
import { DuplicateError, type ClientStore } from '../../../src/ports/stores.ts';
import { createSecretBox } from '../../../src/security/secret-box.ts';
import type { SecretBox } from '../../../src/ports/secret-box.ts';
import { createSqlClientStore } from '../../../src/storage/sql/client-store.ts';
import { migrateToLatest, openSqlDatabase, type SqlDatabase } from '../../../src/storage/sql/database.ts';
import { createTestClock } from '../../helpers/clock.ts';

describe('classifyRedirectUri (RFC 8252)', () => {
  it.each([
    ['https://app.example.com/callback', 'web'],
    ['https://app.example.com:8443/cb?tenant=a', 'web'],
    ['http://localhost:8080/cb', 'native'],
    ['http://127.0.0.1:51234/cb', 'native'],
    ['http://[::1]:8080/cb', 'native'],
    ['http://127.0.0.1/cb', 'native'],
    ['com.example.app:/oauth2redirect', 'native'],
    ['com.example.app:/cb', 'native'],
  ])('accepts %s as %s', (uri, kind) => {
    expect(classifyRedirectUri(uri)).toBe(kind);
  });

  it.each([
    ['http://app.example.com/cb', /https/],
    ['http://localhost.attacker.example/cb', /https/],
    ['http://192.168.1.10/cb', /loopback/],
    ['https://app.example.com/cb#state', /fragment/],
    ['https://app.example.com/cb#', /fragment/],
    ['javascript:alert(document.cookie)', /javascript:/],
    ['data:text/html,<script>alert(1)</script>', /data:/],
    ['file:///etc/passwd', /file:/],
    ['myapp:/callback', /reverse domain/],
    ['myapp://callback', /reverse domain/],
    ['/relative/callback', /absolute/],
    ['', /absolute/],
  ])('refuses %s', (uri, problem) => {
    const result = classifyRedirectUri(uri);
    expect(result).not.toBe('web');
    expect(result).not.toBe('native');
    expect(result).toMatch(problem);
  });
});

describe('classifyRedirectUri with the client (issue 8)', () => {
  it.each([
    ['http://localhost:8080/cb', 'web'],
    ['http://127.0.0.1/cb', 'web'],
    ['http://[::1]:8080/cb', 'web'],
    ['https://app.example.com/cb', 'web'],
    ['com.example.app:/cb', 'native'],
  ])('takes %s of a confidential client as %s', (uri, kind) => {
    expect(classifyRedirectUri(uri, { public: false })).toBe(kind);
  });

  it.each([
    ['http://localhost:8080/cb', 'native'],
    ['com.example.app:/cb', 'native'],
    ['https://app.example.com/cb', 'web'],
  ])('takes %s of a public client as %s', (uri, kind) => {
    expect(classifyRedirectUri(uri, { public: true })).toBe(kind);
  });
});

let sql: SqlDatabase;
let store: ClientStore;
let box: SecretBox;
let validated: Record<string, unknown>[];
let clients: Clients;

beforeEach(async () => {
  sql = openSqlDatabase({ kind: 'sqlite', filename: ':memory:' });
  await migrateToLatest(sql.db);
  store = createSqlClientStore(sql.db);
  box = createSecretBox(randomBytes(32));
  validated = [];
  clients = createClients({
    reservedIds: ['twofold-account'],
    store,
    box,
    clock: createTestClock(Date.UTC(2025, 0, 1)),
    random: createCryptoRandom(),
    validateMetadata: async (metadata) => void validated.push(metadata),
  });
});
afterEach(() => sql.close());

const web: NewClientInput = { clientId: 'wiki', redirectUris: ['https://wiki.example.com/callback'] };

async function refusal(input: NewClientInput): Promise<AppError> {
  const error = await clients.registerClient(input).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(AppError);
  expect((error as AppError).code).toBe('invalid_client_metadata');
  expect((error as AppError).status).toBe(400);
  return error as AppError;
}

describe('registerClient', () => {
  it('gives a confidential client a secret that is stored only sealed', async () => {
    const { record, secret } = await clients.registerClient(web);
    expect(secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const stored = await store.findClient('wiki');
    expect(stored?.sealedSecret).toBeTruthy();
    expect(stored?.sealedSecret).not.toContain(secret!);
    expect(box.open(stored!.sealedSecret!)).toBe(secret);
    expect(JSON.stringify(stored?.metadata)).not.toContain(secret!);
    expect(stored).toEqual(record);
  });

  it('defaults a confidential client to client_secret_basic with code and refresh grants', async () => {
    const { record } = await clients.registerClient(web);
    expect(record.metadata).toMatchObject({
      client_name: 'wiki',
      application_type: 'web',
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      redirect_uris: ['https://wiki.example.com/callback'],
      token_endpoint_auth_method: 'client_secret_basic',
    });
  });

  it('gives a public client no secret and the auth method none', async () => {
    const { record, secret } = await clients.registerClient({
      clientId: 'cli',
      public: true,
      redirectUris: ['http://127.0.0.1/cb'],
    });
    expect(secret).toBeNull();
    expect(record.sealedSecret).toBeNull();
    expect(record.metadata.token_endpoint_auth_method).toBe('none');
    expect(record.metadata.application_type).toBe('native');
    expect(validated[0]).not.toHaveProperty('client_secret');
  });

  it('hands the provider the metadata with client id and secret to validate', async () => {
    const { secret } = await clients.registerClient({ ...web, authMethod: 'client_secret_post' });
    expect(validated).toHaveLength(1);
    expect(validated[0]).toMatchObject({
      client_id: 'wiki',
      client_secret: secret,
      token_endpoint_auth_method: 'client_secret_post',
    });
  });

  it('refuses the password grant for a public client', async () => {
    expect((await refusal({ ...web, public: true, grants: ['password'] })).message).toMatch(
      /password grant.*confidential/,
    );
  });

  it('refuses an auth method for a public client', async () => {
    expect((await refusal({ ...web, public: true, authMethod: 'client_secret_basic' })).message).toMatch(
      /public client/,
    );
  });

  it('refuses the authorization_code grant without a redirect URI', async () => {
    expect((await refusal({ clientId: 'wiki' })).message).toMatch(/redirect-uri/);
    expect((await refusal({ clientId: 'wiki', grants: ['authorization_code'] })).message).toMatch(/redirect-uri/);
  });

  it('refuses refresh_token without a grant that issues refresh tokens', async () => {
    expect((await refusal({ clientId: 'wiki', grants: ['refresh_token'] })).message).toMatch(/refresh_token/);
  });

  it('registers a mail server for the password grant with introspection and the protocols it serves', async () => {
    const { record, secret } = await clients.registerClient({
      clientId: 'dovecot',
      grants: ['password'],
      authMethod: 'client_secret_post',
      introspection: true,
      scopes: ['imap', 'pop3'],
    });
    expect(secret).toBeTruthy();
    expect(record).toMatchObject({ introspection: true, forwardAuth: false, firstParty: false });
    expect(record.metadata).toMatchObject({ grant_types: ['password'], response_types: [], scope: 'imap pop3' });
  });

  it('refuses the password grant to public and first-party clients, with the reason, and stores nothing', async () => {
    const unsafe = await refusal({ clientId: 'legacy', grants: ['password'], public: true });
    expect(unsafe.message).toContain('confidential client');
    const own = await refusal({ clientId: 'own-app', grants: ['password'], firstParty: true });
    expect(own.message).toContain('first-party apps sign in through the browser');
    expect(await store.findClient('legacy')).toBeUndefined();
    expect(await store.findClient('own-app')).toBeUndefined();
  });

  it('refuses an unsafe redirect URI, naming it', async () => {
    const error = await refusal({ clientId: 'wiki', redirectUris: ['http://wiki.example.com/callback'] });
    expect(error.message).toContain('http://wiki.example.com/callback');
    await refusal({ ...web, postLogoutRedirectUris: ['javascript:alert(1)'] });
  });

  it.each(['', 'has space', 'slash/id', 'x'.repeat(129), 'ünicode'])('refuses the client id %j', async (clientId) => {
    expect((await refusal({ ...web, clientId })).message).toMatch(/^clientId:/);
  });

  it('refuses the id of a built-in client, so nobody can shadow the account pages', async () => {
    await expect(
      clients.registerClient({ clientId: 'twofold-account', redirectUris: ['https://evil.example/cb'] }),
    ).rejects.toMatchObject({ status: 400, message: expect.stringContaining('reserved') });
    expect(await store.findClient('twofold-account')).toBeUndefined();
  });

  it('passes on the reason when the provider refuses the metadata', async () => {
    const refusing = createClients({
      reservedIds: [],
      store,
      box,
      clock: createTestClock(0),
      random: createCryptoRandom(),
      validateMetadata: async () => {
        throw Object.assign(new Error('invalid_client_metadata'), {
          error_description: 'redirect_uris must not contain fragments',
        });
      },
    });
    const error = await refusing.registerClient(web).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AppError);
    expect((error as AppError).message).toBe('redirect_uris must not contain fragments');
    expect(await store.findClient('wiki')).toBeUndefined();
  });

  it('stores nothing for a refused client', async () => {
    await refusal({ clientId: 'wiki', redirectUris: ['http://wiki.example.com/callback'] });
    expect(await clients.listClients()).toEqual([]);
  });

  it('rejects a duplicate client id', async () => {
    await clients.registerClient(web);
    await expect(clients.registerClient({ ...web, name: 'Another wiki' })).rejects.toBeInstanceOf(DuplicateError);
    expect(await clients.listClients()).toHaveLength(1);
  });

  it('records name and first-party flag', async () => {
    await clients.registerClient({ ...web, name: 'Team Wiki', firstParty: true });
    const [listed] = await clients.listClients();
    expect(listed).toMatchObject({ clientId: 'wiki', name: 'Team Wiki', firstParty: true });
    expect(listed?.metadata.client_name).toBe('Team Wiki');
  });
});

describe('registerClient: application type (issue 8)', () => {
  const loopback = ['http://localhost:8080/cb'];

  it('makes a confidential client on a loopback address a web app, so no native-client prompt applies', async () => {
    const { record } = await clients.registerClient({ clientId: 'dev', redirectUris: loopback });
    expect(record.metadata.application_type).toBe('web');
  });

  it('makes a public client on a loopback address or a private-use scheme a native app', async () => {
    const desktop = await clients.registerClient({ clientId: 'desktop', public: true, redirectUris: loopback });
    expect(desktop.record.metadata.application_type).toBe('native');
    const mobile = await clients.registerClient({
      clientId: 'mobile',
      public: true,
      redirectUris: ['com.example.app:/cb'],
    });
    expect(mobile.record.metadata.application_type).toBe('native');
  });

  it('takes an explicit application type over the one the redirect URIs imply', async () => {
    const native = await clients.registerClient({ clientId: 'n', redirectUris: loopback, applicationType: 'native' });
    expect(native.record.metadata.application_type).toBe('native');
    const web = await clients.registerClient({
      clientId: 'w',
      public: true,
      redirectUris: loopback,
      applicationType: 'web',
    });
    expect(web.record.metadata.application_type).toBe('web');
  });

  it('refuses a private-use scheme for a web client, naming the URI', async () => {
    const error = await refusal({ clientId: 'w', redirectUris: ['com.example.app:/cb'], applicationType: 'web' });
    expect(error.message).toContain('com.example.app:/cb');
    expect(error.message).toMatch(/native/);
    await refusal({ ...web, postLogoutRedirectUris: ['com.example.app:/out'], applicationType: 'web' });
  });

  it('refuses an application type other than web or native', async () => {
    expect((await refusal({ ...web, applicationType: 'desktop' as never })).message).toMatch(/^applicationType:/);
  });
});
