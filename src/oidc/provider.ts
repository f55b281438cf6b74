import type { JsonWebKey } from 'node:crypto';
import Provider, {
  interactionPolicy,
  type AdapterFactory,
  type Configuration,
  type KoaContextWithOIDC,
} from 'oidc-provider';

import type { Config } from '../config/load.ts';
import type { CookieSigner } from '../ports/cookie-signer.ts';
import type { UserStore, UserWithOrganization } from '../ports/stores.ts';
import type { Views } from '../ports/views.ts';
import { ACR_VALUES } from '../domain/authentication.ts';
import { createPolicy } from './policy.ts';
import { createSessionTtl } from './session-lifetime.ts';
import { sessionLifetimeOf } from '../domain/session-lifetime.ts';
import type { Clock } from '../ports/clock.ts';
import { PROTOCOL_SCOPES } from '../ports/app-password-store.ts';

export interface ProviderDeps {
  config: Config;
  clock: Clock;
  /** Signs the provider's cookies (and, through provider.keys, ours): the deployment's cookie keys. */
  cookieKeys: CookieSigner;
  jwks: { keys: JsonWebKey[] };
  adapter: AdapterFactory;
  users: UserStore;
  views: Views;
  /** Clients whose consent is implied (the deployment's own apps). */
  isFirstParty(clientId: string): Promise<boolean>;
  /** Resource servers registered to introspect other clients' tokens (client add --introspection). */
  isIntrospector(clientId: string): Promise<boolean>;
  /** The person must enrol a second factor before any session of theirs is used again. */
  needsEnrolment(account: UserWithOrganization): Promise<boolean>;
}

/**
 * Claims by scope (OIDC Core §5.4). acr, amr and auth_time ride on the openid scope so that every
 * ID token carries them, not only those requested with max_age, acr_values or the claims parameter.
 */
const claims: Configuration['claims'] = {
  sid: null,
  iss: null,
  openid: ['sub', 'acr', 'amr', 'auth_time'],
  email: ['email', 'email_verified'],
  profile: ['name', 'updated_at'],
};

function findAccount(users: UserStore): Configuration['findAccount'] {
  return async (_ctx, sub) => {
    const found = await users.findUserBySubject(sub);
    // A disabled person has no account here: their codes, refresh tokens and userinfo calls fail,
    // and a session of theirs leads to the sign-in page again (policy.ts).
    if (!found || found.user.disabledAt !== null) return undefined;
    const { user } = found;
    return {
      accountId: user.id,
      // The person and organization, for the interaction policy's checks of this same request.
      person: found,
      // Read here on every authorization request anyway: the session's limits (session-lifetime.ts) come free.
      sessionLifetime: sessionLifetimeOf(found.organization),
      async claims() {
        return {
          sub: user.id,
          email: user.email,
          // Addresses are entered by administrators; nobody has proven they receive mail there yet.
          email_verified: false,
          ...(user.name ? { name: user.name } : {}),
          updated_at: Math.floor(user.passwordChangedAt / 1000),
        };
      },
    };
  };
}

/** Renders a page of ours for the provider's own HTML responses (errors, logout). */
function renderInto(views: Views) {
  return async (ctx: KoaContextWithOIDC, name: string, model: { title: string; [key: string]: unknown }) => {
    ctx.type = 'html';
    ctx.set('cache-control', 'no-store');
    ctx.body = await views.render(name, model);
  };
}

/**
 * oidc-provider's consent prompt asks a native client's End-User to take part in every
 * authorization (`native_client_prompt`): any app can claim a private-use scheme or a loopback
 * port (RFC 8252 §8.6), so a native client is never answered silently. For the deployment's own
 * apps, the sign-in the person has just completed in this authorization is that interaction, so
 * no consent page follows it (issue 8); a silent request (prompt=none, or a standing session
 * without a sign-in) still needs the person.
 */
function withFirstPartyNativeSignIn(
  policy: interactionPolicy.Prompt[],
  isFirstParty: ProviderDeps['isFirstParty'],
): interactionPolicy.Prompt[] {
  const native = policy.find((prompt) => prompt.name === 'consent')?.checks.get('native_client_prompt');
  if (!native) throw new Error('oidc-provider has no native_client_prompt check any more: review issue 8');
  const requireInteraction = native.check;
  native.check = async (ctx) =>
    ctx.oidc.result?.login && (await isFirstParty(ctx.oidc.client!.clientId))
      ? interactionPolicy.Check.NO_NEED_TO_PROMPT
      : requireInteraction(ctx);
  return policy;
}

export function createProvider(deps: ProviderDeps): Provider {
  const { config, views } = deps;
  const render = renderInto(views);
  const { ttl } = config;

  const configuration: Configuration = {
    adapter: deps.adapter,
    clients: [],
    findAccount: findAccount(deps.users),
    claims,
    scopes: ['openid', 'offline_access', 'email', 'profile', ...PROTOCOL_SCOPES],
    acrValues: [...ACR_VALUES],
    responseTypes: ['code'],
    jwks: deps.jwks as Configuration['jwks'],
    cookies: {
      keys: deps.cookieKeys,
      long: { httpOnly: true, sameSite: 'lax' },
      short: { httpOnly: true, sameSite: 'lax' },
      // Over https the session cookie is __Host- (RFC 6265bis §4.1.3.2: host-only, path /, secure),
      // so a sibling subdomain cannot toss one in. The interaction cookies are scoped to
      // /interaction/<uid> and /auth/<uid>, which __Host- forbids: they take __Secure- instead.
      ...(config.issuer.startsWith('https:')
        ? {
            names: {
              session: '__Host-_session',
              interaction: '__Secure-_interaction',
              resume: '__Secure-_interaction_resume',
            },
          }
        : {}),
    },
    // PKCE with S256 for every client, confidential ones included (RFC 9700 §2.1.1).
    pkce: { required: () => true },
    rotateRefreshToken: true,
    // A relying party allowed the refresh_token grant gets a refresh token with every code. Without
    // offline_access it is bound to the sign-in session (oidc-provider's default expiresWithSession)
    // and stops when the session ends (NIST SP 800-63B §4.2.3 lifetimes); with offline_access it
    // follows its own lifetime (ttl.refreshToken), as OIDC Core §11 intends.
    issueRefreshToken: async (_ctx, client) => client.grantTypeAllowed('refresh_token'),
    // Access tokens (and so introspection) carry the authentication they came from, so that any
    // resource server can make the step-up decision (RFC 9470 §3, RFC 9068 §2.2.1).
    extraTokenClaims: async (ctx, token) => {
      if (token.kind !== 'AccessToken') return undefined;
      // The password grant sets its own (username, app password id) before saving: keep them.
      if ((token as { gty?: string }).gty === 'password') return (token as { extra?: Record<string, unknown> }).extra;
      const { AuthorizationCode: code, RefreshToken: refresh } = ctx.oidc.entities;
      const source = code ?? refresh;
      if (!source) return undefined;
      return { auth_time: source.authTime, acr: source.acr, amr: source.amr };
    },
    // Only real web origins of the client's redirect URIs; private-use schemes have the opaque
    // origin "null", which must never match.
    clientBasedCORS: (_ctx, origin, client) =>
      origin !== 'null' && (client.redirectUris ?? []).some((uri) => URL.parse(uri)?.origin === origin),
    features: {
      devInteractions: { enabled: false },
      // Service-to-service tokens for clients registered with that grant (no person involved).
      clientCredentials: { enabled: true },
      introspection: {
        enabled: true,
        // RFC 7662 §4: a client learns about its own tokens; only registered resource servers
        // (mail and calendar servers, --introspection) about other clients' tokens.
        allowedPolicy: async (_ctx, client, token) =>
          token.clientId === client.clientId ||
          (client.clientAuthMethod !== 'none' && (await deps.isIntrospector(client.clientId))),
      },
      revocation: {
        enabled: true,
        // RFC 7009 §2.1: a client may revoke only its own tokens; for others the answer is the
        // same 200 (a public client learns nothing by guessing), but nothing is revoked.
        allowedPolicy: async (_ctx, client, token) => token.clientId === client.clientId,
      },
      rpInitiatedLogout: {
        enabled: true,
        logoutSource: async (ctx, form) =>
          render(ctx as KoaContextWithOIDC, 'interaction/logout', { title: 'Sign out', form, host: ctx.host }),
        postLogoutSuccessSource: async (ctx) =>
          render(ctx as KoaContextWithOIDC, 'interaction/logged-out', {
            title: 'Signed out',
            clientName: ctx.oidc.client?.clientName ?? null,
          }),
      },
      userinfo: { enabled: true },
      claimsParameter: { enabled: true },
    },
    interactions: {
      url: (_ctx, interaction) => `/interaction/${interaction.uid}`,
      policy: withFirstPartyNativeSignIn(
        createPolicy({ needsEnrolment: deps.needsEnrolment, clock: deps.clock }),
        deps.isFirstParty,
      ),
    },
    loadExistingGrant: async (ctx) => {
      const grantId = ctx.oidc.result?.consent?.grantId ?? ctx.oidc.session!.grantIdFor(ctx.oidc.client!.clientId);
      if (grantId) return ctx.oidc.provider.Grant.find(grantId);
      // First-party clients have implied consent to what they ask for (no consent screen).
      if (!(await deps.isFirstParty(ctx.oidc.client!.clientId))) return undefined;
      const grant = new ctx.oidc.provider.Grant({
        clientId: ctx.oidc.client!.clientId,
        accountId: ctx.oidc.session!.accountId,
      });
      grant.addOIDCScope(ctx.oidc.requestParamScopes ? [...ctx.oidc.requestParamScopes].join(' ') : 'openid');
      grant.addOIDCClaims([...(ctx.oidc.requestParamClaims ?? [])]);
      await grant.save();
      return grant;
    },
    renderError: async (ctx, out, error) => {
      const { status = 500, expose = false } = error as { status?: number; expose?: boolean };
      await render(ctx, 'errors/error', {
        title:
          status === 503
            ? 'Briefly unavailable'
            : status >= 500
              ? 'Something went wrong'
              : 'This request cannot be completed',
        status,
        error: out.error,
        // Exposed errors (4xx, and a store outage: StoreUnavailableError) are written for people.
        description: expose ? out.error_description : 'The server could not finish this request. Please try again.',
      });
    },
    ttl: {
      AuthorizationCode: ttl.authorizationCode,
      // Legacy clients' tokens live briefly: a mail server asks again at each login.
      ClientCredentials: ttl.accessToken,
      AccessToken: (_ctx, token) =>
        (token as { gty?: string }).gty === 'password' ? config.legacy.accessTokenTtl : ttl.accessToken,
      IdToken: ttl.idToken,
      RefreshToken: ttl.refreshToken,
      // Signed-in sessions follow their organization's lifetimes; ttl.session is for the others.
      Session: createSessionTtl({ clock: deps.clock, anonymousSeconds: ttl.session }),
      Interaction: ttl.interaction,
      Grant: ttl.grant,
    },
    enabledJWA: {
      idTokenSigningAlgValues: ['RS256', 'ES256'],
      userinfoSigningAlgValues: ['RS256', 'ES256'],
    },
  };

  const provider = new Provider(config.issuer, configuration);
  provider.proxy = config.trustProxy;
  return provider;
}
