import Router from '@koa/router';
import type { Context, Middleware } from 'koa';
import type Provider from 'oidc-provider';
import { z } from 'zod';

import type { AccountSecurity } from '../../domain/account-security.ts';
import { isFreshEnough, secondsSinceAuth } from '../../domain/account-sessions.ts';
import { ACR_MFA } from '../../domain/authentication.ts';
import { httpErrors } from '../error-codes.ts';
import type { Person } from '../../factors/factor.ts';
import type { Clock } from '../../ports/clock.ts';
import type { Methods } from '../../domain/methods.ts';
import type { Accounts } from '../../domain/accounts.ts';
import type { UserWithOrganization } from '../../ports/stores.ts';
import { jsonBody } from '../middleware/form-body.ts';

export interface AccountApiDeps {
  provider: Provider;
  security: AccountSecurity;
  methods: Methods;
  accounts: Accounts;
  clock: Clock;
  maxAgeSeconds: number;
  /** Only clients registered for it (`client add --account-api`) may call the account API. */
  mayUseAccountApi(clientId: string): Promise<boolean>;
}

interface ApiCaller {
  account: UserWithOrganization;
  person: Person;
  authTime: number;
  acr: string | undefined;
}

/**
 * RFC 6750 §3: a 401 with a WWW-Authenticate challenge; the JSON body says the same for humans.
 * max_age is a number, so it is written as a token (RFC 9470 §3 allows either form).
 */
function challenge(
  ctx: Context,
  params: { error: string; max_age?: string; acr_values?: string },
  description: string,
) {
  const { error, max_age: maxAge, acr_values: acrValues } = params;
  const parts = [`error="${error}"`, `error_description="${description}"`];
  if (maxAge) parts.push(`max_age=${maxAge}`);
  if (acrValues) parts.push(`acr_values="${acrValues}"`);
  const header = parts.join(', ');
  ctx.status = 401;
  ctx.set('WWW-Authenticate', `Bearer ${header}`);
  ctx.set('cache-control', 'no-store');
  ctx.body = { error: params.error, error_description: description };
}

/**
 * The JSON twin of the account pages for first-party apps, with bearer access tokens. A change
 * needs an auth_time no older than max_age; a stale token gets the RFC 9470 step-up challenge.
 */
export function accountApiRoutes(deps: AccountApiDeps): Router {
  const router = new Router({ prefix: '/api/account' });

  const authenticate: Middleware = async (ctx, next) => {
    const match = /^Bearer ([A-Za-z0-9._~+/-]+=*)$/.exec(ctx.get('authorization'));
    const token = match ? await deps.provider.AccessToken.find(match[1]!) : undefined;
    const extra = (token?.extra ?? {}) as { auth_time?: number; acr?: string };
    if (
      !token ||
      !token.isValid ||
      // Tokens of mail and calendar clients (app passwords) never manage the account.
      token.gty === 'password' ||
      !token.accountId ||
      typeof extra.auth_time !== 'number' ||
      !(await deps.mayUseAccountApi(token.clientId!))
    ) {
      return challenge(ctx, { error: 'invalid_token' }, 'The access token is missing, expired or not for this API.');
    }
    const account = await deps.accounts.findBySubject(token.accountId);
    if (!account) return challenge(ctx, { error: 'invalid_token' }, 'The account of this token no longer exists.');
    ctx.state.caller = {
      account,
      person: { orgId: account.organization.id, userId: account.user.id, email: account.user.email },
      authTime: extra.auth_time,
      acr: extra.acr,
    } satisfies ApiCaller;
    await next();
  };

  /** RFC 9470 §3: insufficient_user_authentication with max_age (and acr_values when MFA is due). */
  const requireFreshToken: Middleware = async (ctx, next) => {
    const caller = ctx.state.caller as ApiCaller;
    const hasFactor = await deps.methods.hasAny(caller.person);
    if (isFreshEnough(caller, hasFactor, deps.clock, deps.maxAgeSeconds)) return next();
    const recent = secondsSinceAuth(caller, deps.clock) <= deps.maxAgeSeconds;
    challenge(
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

  router.get('/security', authenticate, async (ctx) => {
    const { person, account } = ctx.state.caller as ApiCaller;
    const overview = await deps.security.overview(person, account.organization);
    ctx.set('cache-control', 'no-store');
    ctx.body = {
      tfa_enabled: overview.tfaEnabled,
      reason: overview.reason,
      methods: overview.methods.map((m) => ({
        id: m.id,
        kind: m.kind,
        label: m.label,
        created_at: m.createdAt,
        last_used_at: m.lastUsedAt,
      })),
      preferred_method: overview.preferredId,
      recovery_codes_left: overview.recoveryLeft,
    };
  });

  router.post('/recovery-codes', authenticate, requireFreshToken, async (ctx) => {
    const { person } = ctx.state.caller as ApiCaller;
    ctx.set('cache-control', 'no-store');
    ctx.body = { recovery_codes: await deps.security.regenerateRecoveryCodes(person, ctx.ip) };
  });

  router.put('/preferred-method', jsonBody(), authenticate, requireFreshToken, async (ctx) => {
    const { person } = ctx.state.caller as ApiCaller;
    const body = z.object({ method_id: z.string().max(64) }).safeParse(ctx.request.body);
    if (!body.success) throw httpErrors.raise('invalid_request', { message: 'Send {"method_id": "…"}.' });
    await deps.security.setPreferred(person, body.data.method_id);
    ctx.status = 204;
  });

  router.delete('/methods/:id', authenticate, requireFreshToken, async (ctx) => {
    const { person, account } = ctx.state.caller as ApiCaller;
    await deps.security.removeMethod(person, account.organization, String(ctx.params.id).slice(0, 64), ctx.ip);
    ctx.status = 204;
  });

  router.post('/tfa/disable', authenticate, requireFreshToken, async (ctx) => {
    const { person, account } = ctx.state.caller as ApiCaller;
    await deps.security.disableTfa(person, account.organization, ctx.ip);
    ctx.status = 204;
  });

  return router;
}
