import type Router from '@koa/router';
import type { Context } from 'koa';
import type Provider from 'oidc-provider';
import { z } from 'zod';

import type { Audit } from '../../domain/audit.ts';
import type { Methods } from '../../domain/methods.ts';
import type { PendingSignIn, SignInFlow } from '../../domain/sign-in-flow.ts';
import type { Throttle } from '../../domain/throttle.ts';
import type { FactorRegistry } from '../../factors/registry.ts';
import type { Csrf } from '../middleware/csrf.ts';
import type { Views } from '../../ports/views.ts';
import { verificationRoutes, type Prover, type VerifyNotice } from './factors/verification-routes.ts';
import { expiredInteraction, loadLoginInteraction } from './interaction-support.ts';
import type { FinishSignIn } from './sign-in-completion.ts';
import { distinctLabel } from './factors/method-label.ts';
import { brandFor } from './brand.ts';

export interface SecondFactorDeps {
  provider: Provider;
  flow: SignInFlow;
  methods: Methods;
  registry: FactorRegistry;
  throttle: Throttle;
  audit: Audit;
  views: Views;
  csrf: Csrf;
  finishSignIn: FinishSignIn;
}

interface SecondStep extends Prover {
  uid: string;
  pending: PendingSignIn;
}

const trustField = z.object({ trust: z.literal('on').optional() }).catch({});

/**
 * The second step of sign-in: the person's preferred method first, "use another method" for the
 * rest. Codes are sent only when asked for. Proving any factor resolves the login prompt.
 */
export function secondFactorRoutes(deps: SecondFactorDeps): Router {
  const { provider, flow, views, csrf } = deps;

  async function load(ctx: Context): Promise<SecondStep> {
    const details = await loadLoginInteraction(provider, ctx);
    const pending = await flow.pending(details.uid);
    // A sign-in begun before the accepted kinds were recorded starts again rather than guess them.
    if (!pending || pending.step !== 'second-factor' || !Array.isArray(pending.accepted)) throw expiredInteraction();
    const base = `/interaction/${details.uid}/verify`;
    return {
      uid: details.uid,
      pending,
      person: pending.person,
      binding: details.uid,
      base,
      records: await deps.methods.active(pending.person),
      kinds: pending.accepted,
    };
  }

  async function show(ctx: Context, state: SecondStep, choiceId: string | undefined, notice: VerifyNotice) {
    const choices = await deps.methods.choices(state.person, state.kinds, state.records);
    const current = choices.find((c) => c.id === choiceId) ?? choices[0]!;
    ctx.type = 'html';
    ctx.set('cache-control', 'no-store');
    ctx.body = await views.render('interaction/second-factor', {
      title: 'Two-step verification',
      brand: brandFor(ctx, state.pending.organization),
      csrfToken: csrf.tokenFor(ctx),
      base: state.base,
      current: { ...current, kindName: deps.registry.get(current.kind)?.name ?? current.kind },
      others: choices
        .filter((c) => c !== current)
        .map((c) => {
          const kindName = deps.registry.get(c.kind)?.name ?? c.kind;
          return { ...c, kindName, label: distinctLabel(c.label, kindName) };
        }),
      anotherChosen: current !== choices[0] || notice.sendLimited === true || notice.sendFailed === true,
      challenged: notice.challenged ?? false,
      error: notice.error ?? null,
      waitSeconds: notice.waitSeconds ?? 0,
      sendLimited: notice.sendLimited ?? false,
      trustDays: state.pending.reauthentication || state.pending.switching ? 0 : state.pending.trustDays,
      switching: state.pending.switching,
    });
  }

  return verificationRoutes(deps, {
    prefix: '/interaction/:uid/verify',
    guards: [csrf.verify],
    unreadable: 'The form could not be read. Go back and try again.',
    failureEvent: 'signin.second_factor_failed',
    load,
    show,
    async showNotice(ctx, state, notice, next) {
      ctx.type = 'html';
      ctx.set('cache-control', 'no-store');
      ctx.body = await views.render('interaction/proven', {
        title: 'Signed in',
        brand: brandFor(ctx, state.pending.organization),
        notice,
        next,
      });
    },
    async proven(ctx, state, proven) {
      // Every method of the person is forbidden now: the proof shows it is them, then they enrol an allowed one.
      if (state.pending.switching) {
        if (!(await flow.enrolNext(state.uid, proven))) throw expiredInteraction();
        return `/interaction/${state.uid}/enrol`;
      }
      const next = await flow.afterSecondFactor(state.uid, proven);
      if (!next) throw expiredInteraction();
      // A bootstrap (a temporary access code) opens enrolment of a new method, not a session.
      if (next.step !== 'done') return `/interaction/${state.uid}/enrol`;
      const trusted = trustField.parse(ctx.request.body).trust === 'on' && !state.pending.reauthentication;
      return deps.finishSignIn(ctx, {
        person: state.person,
        methods: next.methods,
        trustDays: trusted ? state.pending.trustDays : 0,
      });
    },
  });
}
