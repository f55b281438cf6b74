import Router from '@koa/router';
import type { Context, Middleware } from 'koa';
import type Provider from 'oidc-provider';

import type { Accounts } from '../../../domain/accounts.ts';
import { domainErrors } from '../../../domain/error-codes.ts';
import { factorErrors } from '../../../factors/error-codes.ts';
import { httpErrors } from '../../error-codes.ts';
import type { Throttle } from '../../../domain/throttle.ts';
import type { Factor } from '../../../factors/factor.ts';
import type { FactorRegistry } from '../../../factors/registry.ts';
import type { Clock } from '../../../ports/clock.ts';
import { personOf } from '../../../domain/sign-in-flow.ts';
import { jsonBody } from '../../middleware/form-body.ts';
import { loadLoginInteraction } from '../interaction-support.ts';
import type { FinishSignIn } from '../sign-in-completion.ts';
import { readInput, refusalError, requireFactor } from './factor-requests.ts';
import { secondsText } from '../../../domain/duration-text.ts';

export interface PasswordlessDeps {
  provider: Provider;
  registry: FactorRegistry;
  accounts: Accounts;
  throttle: Throttle;
  finishSignIn: FinishSignIn;
  clock: Clock;
  guards: Middleware[];
}

const UNREADABLE = 'The browser sent an unreadable answer. Try again.';
const unusable = () => factorErrors.raise('invalid', { message: 'This passkey could not be used.' });

/**
 * Sign-in from the first page with a factor that proves the person on its own (a user-verified
 * passkey): its challenge, then its proof, which ends the sign-in like any other.
 */
export function passwordlessRoutes(deps: PasswordlessDeps): Router {
  const router = new Router({ prefix: '/interaction/:uid/passwordless/:kind' });
  const steps = [jsonBody(), ...deps.guards];
  const factorOf = (ctx: Context) => requireFactor(deps.registry, ctx, (f: Factor) => f.passwordless !== undefined);

  router.post('/challenge', ...steps, async (ctx) => {
    const details = await loadLoginInteraction(deps.provider, ctx);
    const step = await factorOf(ctx).passwordless!.challenge({ binding: details.uid, ip: ctx.ip });
    if (!step.ok) throw refusalError(step);
    ctx.body = step.model;
  });

  router.post('/', ...steps, async (ctx) => {
    const details = await loadLoginInteraction(deps.provider, ctx);
    const factor = factorOf(ctx);
    const input = readInput(factor, ctx, UNREADABLE);
    // A passkey signature cannot be guessed, so failures count against the address alone: a
    // shared or per-credential key would let anyone block someone else's passkey.
    const keys = { account: `passwordless-from:${ctx.ip}`, ip: ctx.ip };
    const attempt = await deps.throttle.attempt(keys, () =>
      factor.passwordless!.verify(input, { binding: details.uid, ip: ctx.ip }),
    );
    if (attempt.status === 'busy') throw httpErrors.raise('busy');
    if (attempt.status === 'wait') {
      // Worded like the other throttle waits; the page's script counts Retry-After down.
      ctx.set('Retry-After', String(attempt.seconds));
      throw domainErrors.raise('throttled', {
        message: `Too many failed attempts. Your passkey was not checked: wait ${secondsText(attempt.seconds)}, then try again.`,
      });
    }
    const { outcome } = attempt;
    if (!outcome.ok) throw refusalError(outcome);
    const account = await deps.accounts.signInAccount(outcome.owner.orgId, outcome.owner.userId);
    if (!account) throw unusable();
    const { organization, user } = account;
    if (!deps.registry.allowedFor(organization, user.role).some((allowed) => allowed.kind === factor.kind))
      throw httpErrors.raise('method_unavailable', {
        message: `${organization.name} does not allow signing in with a ${factor.name.toLowerCase()}. Sign in with your email and password.`,
      });
    const methods = [
      { method: outcome.proven.method, amr: outcome.proven.amr, at: Math.floor(deps.clock.now() / 1000) },
    ];
    ctx.body = { redirect: await deps.finishSignIn(ctx, { person: personOf(account), methods }) };
  });

  return router;
}
