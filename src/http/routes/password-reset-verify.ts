import type Router from '@koa/router';
import type { Context } from 'koa';

import type { Audit } from '../../domain/audit.ts';
import { domainErrors } from '../../domain/error-codes.ts';
import type { Methods } from '../../domain/methods.ts';
import type { PasswordResets } from '../../domain/password-resets.ts';
import { personOf } from '../../domain/sign-in-flow.ts';
import type { Throttle } from '../../domain/throttle.ts';
import type { FactorRegistry } from '../../factors/registry.ts';
import type { Clock } from '../../ports/clock.ts';
import type { Views } from '../../ports/views.ts';
import type { Csrf } from '../middleware/csrf.ts';
import { verificationRoutes, type Prover, type VerifyNotice } from './factors/verification-routes.ts';
import { distinctLabel } from './factors/method-label.ts';
import type { LinkStates } from './link-state.ts';
import type { ResetState } from './password-reset.ts';

export interface ResetVerificationDeps {
  resets: Pick<PasswordResets, 'find'>;
  states: LinkStates<ResetState>;
  methods: Methods;
  registry: FactorRegistry;
  /** The second step's attempt budget, shared with sign-in: a reset link buys no extra guesses. */
  throttle: Throttle;
  audit: Audit;
  views: Views;
  csrf: Csrf;
  clock: Clock;
}

interface ResetProver extends Prover {
  state: ResetState;
  expiresAt: number;
}

const BASE = '/reset-password/verify';

/**
 * The second factor before a new password (NIST SP 800-63B §4.2.1: recovering one factor never
 * bypasses the other). The same factor routes as the second step of sign-in, so every method
 * works; a trusted browser skips nothing here, and what is proven is credited to this browser's
 * use of the link alone.
 */
export function resetVerificationRoutes(deps: ResetVerificationDeps): Router {
  const { states, views, csrf } = deps;
  // Any method the person has proves it is them, also one their organization no longer allows for
  // sign-in (they replace it at their next sign-in); an administrator's temporary access code does
  // not: it opens enrolment at sign-in, not a new password.
  const proofKinds = () =>
    deps.registry
      .all()
      .filter((factor) => !factor.bootstrap)
      .map((factor) => factor.kind);

  async function load(ctx: Context): Promise<ResetProver> {
    const loaded = await states.load(ctx);
    const link = loaded && !loaded.state.done ? await deps.resets.find(loaded.state.tokenHash) : undefined;
    if (!loaded || !link)
      throw domainErrors.raise('link_invalid', {
        message:
          'This link has expired or was already used. Ask for a new one: choose "Forgot password?" when you sign in.',
      });
    const person = personOf(link.account);
    const records = await deps.methods.active(person);
    return {
      person,
      binding: loaded.binding,
      base: BASE,
      kinds: proofKinds(),
      records,
      state: loaded.state,
      expiresAt: link.record.expiresAt,
    };
  }

  async function show(ctx: Context, state: ResetProver, choiceId: string | undefined, notice: VerifyNotice) {
    const choices = await deps.methods.choices(state.person, state.kinds, state.records);
    if (state.state.provenWith !== null || choices.length === 0) return void ctx.redirect('/reset-password');
    const current = choices.find((c) => c.id === choiceId) ?? choices[0]!;
    const kindName = (kind: string) => deps.registry.get(kind)?.name ?? kind;
    ctx.type = 'html';
    ctx.set('cache-control', 'no-store');
    ctx.body = await views.render('reset/verify', {
      title: "Confirm it's you",
      csrfToken: csrf.tokenFor(ctx),
      base: BASE,
      current: { ...current, kindName: kindName(current.kind) },
      others: choices
        .filter((c) => c !== current)
        .map((c) => ({ ...c, kindName: kindName(c.kind), label: distinctLabel(c.label, kindName(c.kind)) })),
      anotherChosen: current !== choices[0] || notice.sendLimited === true || notice.sendFailed === true,
      challenged: notice.challenged ?? false,
      error: notice.error ?? null,
      waitSeconds: notice.waitSeconds ?? 0,
      sendLimited: notice.sendLimited ?? false,
      // Trusting this browser is a sign-in's business: nothing here is remembered.
      trustDays: 0,
    });
  }

  return verificationRoutes(deps, {
    prefix: BASE,
    guards: [csrf.verify],
    unreadable: 'The form could not be read. Go back and try again.',
    failureEvent: 'password.reset_second_factor_failed',
    load,
    show,
    async proven(ctx, prover, proven) {
      const seconds = Math.max(1, Math.ceil((prover.expiresAt - deps.clock.now()) / 1000));
      await states.save(ctx, { ...prover.state, provenWith: proven.method }, seconds);
      return '/reset-password';
    },
  });
}
