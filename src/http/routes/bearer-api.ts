import type { Context, Middleware } from 'koa';
import type Provider from 'oidc-provider';

import { isFreshEnough, secondsSinceAuth } from '../../domain/account-sessions.ts';
import type { Accounts } from '../../domain/accounts.ts';
import { ACR_MFA } from '../../domain/authentication.ts';
import type { Methods } from '../../domain/methods.ts';
import type { Person } from '../../factors/factor.ts';
import type { Clock } from '../../ports/clock.ts';
import type { UserWithOrganization } from '../../ports/stores.ts';

/** Who called a bearer-token API: the signed-in person behind the access token. */
export interface BearerCaller {
  account: UserWithOrganization;
  person: Person;
  authTime: number;
  acr: string | undefined;
}

export const callerOf = (ctx: Context): BearerCaller => ctx.state.caller as BearerCaller;

/**
 * RFC 6750 §3: a 401 with a WWW-Authenticate challenge; the JSON body says the same for humans.
 * max_age is a number, so it is written as a token (RFC 9470 §3 allows either form).
 */
export function bearerChallenge(
  ctx: Context,
  params: { error: string; max_age?: string; acr_values?: string },
  description: string,
): void {
  const { error, max_age: maxAge, acr_values: acrValues } = params;
  const parts = [`error="${error}"`, `error_description="${description}"`];
  if (maxAge) parts.push(`max_age=${maxAge}`);
  if (acrValues) parts.push(`acr_values="${acrValues}"`);
  ctx.status = 401;
  ctx.set('WWW-Authenticate', `Bearer ${parts.join(', ')}`);
  ctx.set('cache-control', 'no-store');
  ctx.body = { error: params.error, error_description: description };
}

/**
 * Accepts an access token of a person's sign-in (never a mail or calendar client's app-password
 * token) issued to a client allowed to call this API; the caller is then `callerOf(ctx)`.
 */
export function authenticateBearer(deps: {
  provider: Provider;
  accounts: Pick<Accounts, 'findBySubject'>;
  /** Only clients registered for this API may call it. */
  mayUse(clientId: string): Promise<boolean>;
}): Middleware {
  return async (ctx, next) => {
    const match = /^Bearer ([A-Za-z0-9._~+/-]+=*)$/.exec(ctx.get('authorization'));
    const token = match ? await deps.provider.AccessToken.find(match[1]!) : undefined;
    const extra = (token?.extra ?? {}) as { auth_time?: number; acr?: string };
    if (
      !token ||
      !token.isValid ||
      token.gty === 'password' ||
      !token.accountId ||
      typeof extra.auth_time !== 'number' ||
      !(await deps.mayUse(token.clientId!))
    ) {
      return bearerChallenge(
        ctx,
        { error: 'invalid_token' },
        'The access token is missing, expired or not for this API.',
      );
    }
    const account = await deps.accounts.findBySubject(token.accountId);
    if (!account)
      return bearerChallenge(ctx, { error: 'invalid_token' }, 'The account of this token no longer exists.');
    ctx.state.caller = {
      account,
      person: { orgId: account.organization.id, userId: account.user.id, email: account.user.email },
      authTime: extra.auth_time,
      acr: extra.acr,
    } satisfies BearerCaller;
    await next();
  };
}

/**
 * RFC 9470 §3: a change needs an authentication no older than max_age (with the second factor when
 * the caller has one); otherwise insufficient_user_authentication with max_age, and acr_values
 * when it is the second factor that is missing.
 */
export function requireFreshBearer(deps: { methods: Methods; clock: Clock; maxAgeSeconds: number }): Middleware {
  return async (ctx, next) => {
    const caller = callerOf(ctx);
    const hasFactor = await deps.methods.hasAny(caller.person);
    if (isFreshEnough(caller, hasFactor, deps.clock, deps.maxAgeSeconds)) return next();
    const recent = secondsSinceAuth(caller, deps.clock) <= deps.maxAgeSeconds;
    bearerChallenge(
      ctx,
      {
        error: 'insufficient_user_authentication',
        max_age: String(deps.maxAgeSeconds),
        ...(hasFactor ? { acr_values: ACR_MFA } : {}),
      },
      hasFactor && recent
        ? 'This change needs a sign-in with your second factor.'
        : 'A more recent authentication is required for this change.',
    );
  };
}
