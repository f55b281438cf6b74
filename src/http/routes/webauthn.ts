import Router from '@koa/router';
import type { Context } from 'koa';

import { AppError } from '../../domain/errors.ts';
import type { WebauthnFactor } from '../../factors/webauthn/webauthn.ts';
import type { UserStore } from '../../ports/stores.ts';
import type { Clock } from '../../ports/clock.ts';
import { jsonBody } from '../middleware/form-body.ts';
import { expiredInteraction, loadLoginInteraction, loginResult, resultUrl } from './interaction-support.ts';
import { completeSignIn, type SecondFactorDeps } from './second-factor.ts';

export interface WebauthnRouteDeps extends Pick<SecondFactorDeps, 'provider' | 'flow' | 'trustedBrowsers' | 'audit' | 'secureCookies' | 'throttle' | 'csrf'> {
  webauthn: WebauthnFactor;
  users: UserStore;
  clock: Clock;
}

const body = (ctx: Context) => (ctx.request.body ?? {}) as { credential?: unknown; trust?: unknown };

/**
 * JSON endpoints for public/webauthn.js: a security key as the second factor, and passkey
 * sign-in from the first page (a user-verified passkey is two factors on its own).
 */
export function webauthnRoutes(deps: WebauthnRouteDeps): Router {
  const { provider, flow, webauthn, csrf } = deps;
  const router = new Router({ prefix: '/interaction/:uid' });
  const guard = [jsonBody(), csrf.verify];

  async function pendingFor(ctx: Context) {
    const details = await loadLoginInteraction(provider, ctx);
    const pending = await flow.pending(details.uid);
    if (!pending || pending.step !== 'second-factor') throw expiredInteraction();
    return { uid: details.uid, pending };
  }

  router.post('/verify/webauthn/options', ...guard, async (ctx) => {
    const { uid, pending } = await pendingFor(ctx);
    ctx.body = await webauthn.authenticationOptions(pending.person, uid);
  });

  router.post('/verify/webauthn', ...guard, async (ctx) => {
    const { uid, pending } = await pendingFor(ctx);
    const keys = { account: pending.person.userId, ip: ctx.ip };
    const wait = await deps.throttle.retryAfter(keys);
    if (wait > 0) throw new AppError('throttled', 429, `Too many failed attempts. Wait ${wait} seconds, then try again.`);
    const outcome = await webauthn.verifyAuthentication(pending.person, uid, body(ctx).credential);
    if (!outcome.ok) {
      await deps.throttle.recordFailure(keys);
      throw new AppError(outcome.reason, 400, outcome.message);
    }
    await deps.throttle.recordSuccess(keys);
    ctx.body = { redirect: await completeSignIn(deps, ctx, uid, pending, outcome.proven, body(ctx).trust === 'on') };
  });

  router.post('/passkey/options', ...guard, async (ctx) => {
    const details = await loadLoginInteraction(provider, ctx);
    ctx.body = await webauthn.authenticationOptions(null, details.uid);
  });

  router.post('/passkey', ...guard, async (ctx) => {
    const details = await loadLoginInteraction(provider, ctx);
    // A passkey signature cannot be guessed, so failures count against the address alone: a
    // shared or per-credential key would let anyone block someone else's passkey.
    const keys = { account: `passkey-from:${ctx.ip}`, ip: ctx.ip };
    const wait = await deps.throttle.retryAfter(keys);
    if (wait > 0) throw new AppError('throttled', 429, `Too many failed attempts. Wait ${wait} seconds, then try again.`);
    const outcome = await webauthn.verifyAuthentication(null, details.uid, body(ctx).credential);
    if (!outcome.ok || !outcome.factor) {
      await deps.throttle.recordFailure(keys);
      throw new AppError(outcome.ok ? 'invalid' : outcome.reason, 400, outcome.ok ? 'This passkey could not be used.' : outcome.message);
    }
    const account = await deps.users.findUserBySubject(outcome.factor.userId);
    if (!account || account.organization.id !== outcome.factor.orgId) throw new AppError('invalid', 400, 'This passkey could not be used.');
    const methods = [{ method: 'passkey', amr: outcome.proven.amr, at: Math.floor(deps.clock.now() / 1000) }];
    await deps.audit.record({ type: 'signin.succeeded', orgId: account.organization.id, userId: account.user.id, ip: ctx.ip, detail: { method: 'passkey', amr: outcome.proven.amr } });
    ctx.body = { redirect: await resultUrl(provider, ctx, loginResult(account.user.id, methods), false) };
  });

  return router;
}
