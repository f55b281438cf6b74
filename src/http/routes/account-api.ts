import Router from '@koa/router';
import type Provider from 'oidc-provider';
import { z } from 'zod';

import type { AccountSecurity } from '../../domain/account-security.ts';
import { httpErrors } from '../error-codes.ts';
import type { Clock } from '../../ports/clock.ts';
import type { Methods } from '../../domain/methods.ts';
import type { Accounts } from '../../domain/accounts.ts';
import { jsonBody } from '../middleware/form-body.ts';
import { authenticateBearer, callerOf, requireFreshBearer } from './bearer-api.ts';

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

/**
 * The JSON twin of the account pages for first-party apps, with bearer access tokens. A change
 * needs an auth_time no older than max_age; a stale token gets the RFC 9470 step-up challenge.
 */
export function accountApiRoutes(deps: AccountApiDeps): Router {
  const router = new Router({ prefix: '/api/account' });

  const authenticate = authenticateBearer({ ...deps, mayUse: deps.mayUseAccountApi });
  const requireFreshToken = requireFreshBearer(deps);

  router.get('/security', authenticate, async (ctx) => {
    const { person, account } = callerOf(ctx);
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
    const { person } = callerOf(ctx);
    ctx.set('cache-control', 'no-store');
    ctx.body = { recovery_codes: await deps.security.regenerateRecoveryCodes(person, ctx.ip) };
  });

  router.put('/preferred-method', jsonBody(), authenticate, requireFreshToken, async (ctx) => {
    const { person } = callerOf(ctx);
    const body = z.object({ method_id: z.string().max(64) }).safeParse(ctx.request.body);
    if (!body.success) throw httpErrors.raise('invalid_request', { message: 'Send {"method_id": "…"}.' });
    await deps.security.setPreferred(person, body.data.method_id);
    ctx.status = 204;
  });

  router.delete('/methods/:id', authenticate, requireFreshToken, async (ctx) => {
    const { person, account } = callerOf(ctx);
    await deps.security.removeMethod(person, account.organization, String(ctx.params.id).slice(0, 64), ctx.ip);
    ctx.status = 204;
  });

  router.post('/tfa/disable', authenticate, requireFreshToken, async (ctx) => {
    const { person, account } = callerOf(ctx);
    await deps.security.disableTfa(person, account.organization, ctx.ip);
    ctx.status = 204;
  });

  return router;
}
