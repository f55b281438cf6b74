import { createHash } from 'node:crypto';
import type Provider from 'oidc-provider';
import { errors, type KoaContextWithOIDC } from 'oidc-provider';

import type { AppPasswordTokens } from '../domain/app-passwords.ts';
import { ACR_PASSWORD } from '../domain/authentication.ts';
import type { LegacySignIn } from '../domain/legacy-sign-in.ts';
import { PROTOCOL_SCOPES, type ProtocolScope } from '../ports/app-password-store.ts';
import type { Clock } from '../ports/clock.ts';
import type { ClientStore } from '../ports/stores.ts';

/** What a legacy token says in introspection besides the RFC 7662 members (token.extra is spread into it). */
export interface LegacyTokenClaims {
  username: string;
  email: string;
  auth_time: number;
  acr: string;
  amr: string[];
  /** The app password that signed in; null for the account password (where the organization allows it). */
  app_password_id: string | null;
}

/**
 * One grant per app password and client: revoking the app password destroys it, and introspection
 * answers inactive for every token of a missing grant (oidc-provider checks the grant first).
 */
export const legacyGrantId = (appPasswordId: string, clientId: string) =>
  `ap-${appPasswordId}-${createHash('sha256').update(clientId).digest('base64url').slice(0, 16)}`;

const invalidGrant = () => new errors.InvalidGrant('the username or password is not right');

function requestedScopes(scope: unknown): ProtocolScope[] | null {
  if (typeof scope !== 'string' || scope.trim() === '') return null;
  const values = scope.trim().split(/\s+/);
  const unknown = values.find((v) => !(PROTOCOL_SCOPES as readonly string[]).includes(v));
  if (unknown) throw new errors.InvalidScope('requested scope is not a protocol of app passwords', unknown);
  return values as ProtocolScope[];
}

/** How many grant ids a node remembers as saved (each is a few dozen bytes). */
const KNOWN_GRANTS = 10_000;

/**
 * The resource owner password grant (RFC 6749 §4.3) for mail and calendar servers only, where
 * people type an app password into a client that cannot do two-factor sign-in. The account
 * password works only where no TFA applies and the organization allows it. Every refusal is the
 * same invalid_grant (RFC 6749 §5.2): Dovecot treats anything else as a temporary failure.
 * Returns what revokes an app password's tokens (its grant, for every password-grant client).
 */
export function registerPasswordGrant(
  provider: Provider,
  deps: { legacy: LegacySignIn; clients: ClientStore; clock: Clock; grantTtlSeconds: number },
): AppPasswordTokens {
  // Grants this node saved, with their expiry: a busy IMAP server costs no grant read per login.
  // A revoked app password's row is gone, so its grant id is never asked for again.
  const saved = new Map<string, number>();

  async function ensureGrant(grantId: string, accountId: string, clientId: string): Promise<void> {
    const now = Math.floor(deps.clock.now() / 1000);
    const fresh = (exp: number | undefined) => exp !== undefined && exp - now >= deps.grantTtlSeconds / 2;
    if (fresh(saved.get(grantId))) return;
    const grant =
      (await provider.Grant.find(grantId)) ?? new provider.Grant({ jti: grantId, accountId, clientId } as never);
    if (grant.accountId !== accountId) throw invalidGrant();
    // Written once, then again only when half its life has gone: no write per sign-in.
    if (!fresh(grant.exp)) await grant.save();
    if (saved.size >= KNOWN_GRANTS) saved.delete(saved.keys().next().value!);
    saved.set(grantId, grant.exp!);
  }

  provider.registerGrantType(
    'password',
    async (ctx: KoaContextWithOIDC) => {
      const { client, params } = ctx.oidc;
      const username = typeof params!.username === 'string' ? params!.username : '';
      const password = typeof params!.password === 'string' ? params!.password : '';
      if (!username || !password || username.length > 254 || password.length > 1024) throw invalidGrant();
      // Asked for in the request, else what the server was registered to serve (client add --scope).
      const scopes = requestedScopes(params!.scope) ?? requestedScopes(client!.scope);
      const outcome = await deps.legacy.authenticate({
        username,
        password,
        ip: ctx.ip,
        scopes,
        protocol: scopes?.length === 1 ? scopes[0]! : client!.clientId,
      });
      if (!outcome.ok) throw invalidGrant();
      const { account, appPassword } = outcome.grant;
      const grantId = legacyGrantId(appPassword?.id ?? `account-${account.user.id}`, client!.clientId);
      await ensureGrant(grantId, account.user.id, client!.clientId);
      const extra: LegacyTokenClaims = {
        username: account.user.email,
        email: account.user.email,
        auth_time: Math.floor(deps.clock.now() / 1000),
        acr: ACR_PASSWORD,
        amr: ['pwd'],
        app_password_id: appPassword?.id ?? null,
      };
      const token = new provider.AccessToken({
        accountId: account.user.id,
        client: client!,
        grantId,
        gty: 'password',
        scope: outcome.grant.scopes.join(' '),
        extra: extra as unknown as Record<string, unknown>,
      });
      ctx.oidc.entity('AccessToken', token);
      const value = await token.save();
      ctx.body = { access_token: value, token_type: token.tokenType, expires_in: token.expiration, scope: token.scope };
    },
    ['username', 'password', 'scope'],
  );

  return {
    async revokeTokensOf(appPasswordId) {
      const clients = (await deps.clients.listClients()).filter((c) =>
        ((c.metadata.grant_types as string[] | undefined) ?? []).includes('password'),
      );
      for (const client of clients) {
        const grantId = legacyGrantId(appPasswordId, client.clientId);
        saved.delete(grantId);
        await (await provider.Grant.find(grantId))?.destroy();
        await provider.AccessToken.revokeByGrantId(grantId);
      }
    },
  };
}
