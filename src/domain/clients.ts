import { createHash, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';

import { PROTOCOL_SCOPES } from '../ports/app-password-store.ts';
import type { Clock } from '../ports/clock.ts';
import type { Random } from '../ports/random.ts';
import type { ClientRecord, ClientStore } from '../ports/stores.ts';
import type { SecretBox } from '../ports/secret-box.ts';
import { AppError } from './errors.ts';
import { domainErrors } from './error-codes.ts';

export const GRANTS = ['authorization_code', 'refresh_token', 'password', 'client_credentials'] as const;
export const AUTH_METHODS = ['client_secret_basic', 'client_secret_post'] as const;
export const APPLICATION_TYPES = ['web', 'native'] as const;
export type ApplicationType = (typeof APPLICATION_TYPES)[number];

export const newClientSchema = z.object({
  clientId: z.string().regex(/^[A-Za-z0-9._~-]{1,128}$/, 'use 1-128 letters, digits, ".", "_", "~" or "-"'),
  name: z.string().trim().min(1).max(200).optional(),
  redirectUris: z.array(z.string().max(2000)).default([]),
  public: z.boolean().default(false),
  grants: z.array(z.enum(GRANTS)).default([]),
  authMethod: z.enum(AUTH_METHODS).optional(),
  firstParty: z.boolean().default(false),
  /** May use the account API (the deployment's own apps); implies first-party. */
  accountApi: z.boolean().default(false),
  /** May use the admin API for the administrator who signs in (an organization's admin tool); implies first-party. */
  adminApi: z.boolean().default(false),
  /** A resource server (a mail or calendar server): may introspect other clients' tokens. */
  introspection: z.boolean().default(false),
  /** A reverse proxy in front of CalDAV/CardDAV: may check app passwords at /forward-auth. */
  forwardAuth: z.boolean().default(false),
  /** The protocols a mail or calendar server serves: app passwords for other protocols are refused there. */
  scopes: z.array(z.enum(PROTOCOL_SCOPES)).default([]),
  postLogoutRedirectUris: z.array(z.string().max(2000)).default([]),
  /** web or native (OIDC Registration §2); by default what the redirect URIs and authentication imply. */
  applicationType: z.enum(APPLICATION_TYPES).optional(),
});
export type NewClientInput = z.input<typeof newClientSchema>;

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

/** What a redirect URI is, before the client it belongs to is known. */
type RedirectShape = 'https' | 'loopback' | 'private-use';

function shapeOf(uri: string): { shape: RedirectShape } | { problem: string } {
  const url = URL.parse(uri);
  if (!url) return { problem: 'is not an absolute URI' };
  if (url.hash || uri.includes('#')) return { problem: 'must not contain a fragment' };
  if (url.protocol === 'https:') return { shape: 'https' };
  if (url.protocol === 'http:')
    return LOOPBACK_HOSTS.has(url.hostname)
      ? { shape: 'loopback' }
      : { problem: 'must use https (http only on a loopback address)' };
  if (['javascript:', 'data:', 'vbscript:', 'file:'].includes(url.protocol))
    return { problem: `must not use the ${url.protocol} scheme` };
  // RFC 8252 §7.1: a private-use scheme should be a reverse domain name the app controls.
  return /^[a-z][a-z0-9+-]*\.[a-z0-9.+-]+:$/.test(url.protocol)
    ? { shape: 'private-use' }
    : { problem: 'private-use schemes must be a reverse domain name, like com.example.app:/callback' };
}

function kindOf(shape: RedirectShape, client: { public: boolean }): ApplicationType {
  if (shape === 'loopback') return client.public ? 'native' : 'web';
  return shape === 'https' ? 'web' : 'native';
}

/**
 * The kind of app a redirect URI implies: web for https; native for a private-use scheme (RFC
 * 8252 §7.1); for loopback http (§7.3) it depends on the client's authentication. A public
 * client there is a native app; a confidential one, which proves who it is with its secret, is a
 * web app in development or a server-side RP behind a local proxy (issue 8). Without the client,
 * the URI is taken as a public client's. Anything else is the reason the URI is refused.
 */
export function classifyRedirectUri(
  uri: string,
  client: { public: boolean } = { public: true },
): ApplicationType | string {
  const found = shapeOf(uri);
  return 'problem' in found ? found.problem : kindOf(found.shape, client);
}

export interface RegisteredClient {
  record: ClientRecord;
  /** Shown once to the operator; only its sealed form is stored. */
  secret: string | null;
}

export interface Clients {
  registerClient(input: NewClientInput): Promise<RegisteredClient>;
  listClients(): Promise<ClientRecord[]>;
  /** A confidential client whose secret matches (compared in constant time), else undefined. */
  authenticateClient(clientId: string, secret: string): Promise<ClientRecord | undefined>;
}

function invalid(message: string): AppError {
  return domainErrors.raise('invalid_client_metadata', { message });
}

/**
 * The client's application_type (OIDC Registration §2): the operator's choice, else native when
 * any redirect URI implies a native app. A web client may not use a private-use scheme; what else
 * each type accepts is left to the provider's own validation.
 */
function applicationTypeOf(input: z.output<typeof newClientSchema>): ApplicationType {
  const uris = [...input.redirectUris, ...input.postLogoutRedirectUris].map((uri) => {
    const found = shapeOf(uri);
    if ('problem' in found) throw invalid(`redirect URI ${uri} ${found.problem}`);
    return { uri, shape: found.shape, kind: kindOf(found.shape, input) };
  });
  const type = input.applicationType ?? (uris.some((u) => u.kind === 'native') ? 'native' : 'web');
  const privateUse = uris.find((u) => u.shape === 'private-use');
  if (type === 'web' && privateUse)
    throw invalid(
      `redirect URI ${privateUse.uri} uses a private-use scheme, which only a native app receives (--application-type native)`,
    );
  return type;
}

export function createClients(deps: {
  /** Ids of the built-in clients (the account pages); nobody may register one of them. */
  reservedIds: string[];
  store: ClientStore;
  box: SecretBox;
  clock: Clock;
  random: Random;
  /** The provider's own metadata validation, so what is stored is what it will accept. */
  validateMetadata(metadata: Record<string, unknown>): Promise<void>;
}): Clients {
  function buildMetadata(input: z.output<typeof newClientSchema>): Record<string, unknown> {
    const grants = input.grants.length > 0 ? [...new Set(input.grants)] : ['authorization_code', 'refresh_token'];
    if (input.public && grants.includes('password'))
      throw invalid('the password grant needs a confidential client (drop --public)');
    if (input.public && input.authMethod)
      throw invalid('a public client has no secret, so --auth-method does not apply');
    const usesCode = grants.includes('authorization_code');
    if (usesCode && input.redirectUris.length === 0)
      throw invalid('the authorization_code grant needs at least one --redirect-uri');
    if (!usesCode && grants.includes('refresh_token') && !grants.includes('password')) {
      throw invalid('refresh_token needs a grant that issues refresh tokens (authorization_code or password)');
    }
    const applicationType = applicationTypeOf(input);
    // The deployment's own apps sign in through the browser with the second factor (RFC 8252).
    if ((input.firstParty || input.accountApi || input.adminApi) && grants.includes('password'))
      throw invalid(
        'first-party apps sign in through the browser: the password grant is for mail and calendar servers',
      );
    if (input.public && grants.includes('client_credentials'))
      throw invalid('the client_credentials grant needs a confidential client (drop --public)');
    if (input.public && (input.introspection || input.forwardAuth))
      throw invalid('a resource server or proxy authenticates with a secret (drop --public)');
    return {
      client_name: input.name ?? input.clientId,
      application_type: applicationType,
      grant_types: grants,
      response_types: usesCode ? ['code'] : [],
      redirect_uris: input.redirectUris,
      post_logout_redirect_uris: input.postLogoutRedirectUris,
      token_endpoint_auth_method: input.public ? 'none' : (input.authMethod ?? 'client_secret_basic'),
      ...(input.scopes.length > 0 ? { scope: [...new Set(input.scopes)].join(' ') } : {}),
    };
  }

  return {
    async registerClient(raw) {
      const parsed = newClientSchema.safeParse(raw);
      if (!parsed.success) {
        const issue = parsed.error.issues[0]!;
        throw invalid(`${issue.path.join('.')}: ${issue.message}`);
      }
      const input = parsed.data;
      if (deps.reservedIds.some((id) => id.toLowerCase() === input.clientId.toLowerCase()))
        throw invalid(`clientId: "${input.clientId}" is reserved for Twofold's own pages`);
      const metadata = buildMetadata(input);
      const secret = input.public ? null : deps.random.token(32);
      try {
        await deps.validateMetadata({
          ...metadata,
          client_id: input.clientId,
          ...(secret ? { client_secret: secret } : {}),
        });
      } catch (error) {
        const e = error as { error_description?: string; message?: string };
        throw invalid(e.error_description ?? e.message ?? 'the client metadata is invalid');
      }
      const record: ClientRecord = {
        clientId: input.clientId,
        name: input.name ?? null,
        metadata,
        sealedSecret: secret ? deps.box.seal(secret) : null,
        firstParty: input.firstParty || input.accountApi || input.adminApi,
        accountApi: input.accountApi,
        introspection: input.introspection,
        forwardAuth: input.forwardAuth,
        adminApi: input.adminApi,
        createdAt: deps.clock.now(),
      };
      await deps.store.insertClient(record);
      return { record, secret };
    },
    listClients: () => deps.store.listClients(),
    async authenticateClient(clientId, secret) {
      const record = clientId.length <= 128 ? await deps.store.findClient(clientId) : undefined;
      // A digest of each side makes the comparison constant-time whatever the lengths.
      const digest = (value: string) => createHash('sha256').update(value).digest();
      const expected = record?.sealedSecret ? deps.box.open(record.sealedSecret) : null;
      const matches = timingSafeEqual(digest(expected ?? ''), digest(secret)) && expected !== null;
      return matches ? record : undefined;
    },
  };
}
