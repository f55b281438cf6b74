import Router from '@koa/router';
import type { Context } from 'koa';
import type Provider from 'oidc-provider';

import type { Accounts } from '../../domain/accounts.ts';
import type { Audit } from '../../domain/audit.ts';
import type { SignInFlow } from '../../domain/sign-in-flow.ts';
import { daysLeft } from '../../domain/tfa-requirement.ts';
import type { Clock } from '../../ports/clock.ts';
import type { Views } from '../../ports/views.ts';
import type { Csrf } from '../middleware/csrf.ts';
import { formBody } from '../middleware/form-body.ts';
import { expiredInteraction, loadLoginInteraction } from './interaction-support.ts';
import type { FinishSignIn } from './sign-in-completion.ts';

export interface EnrolmentGraceDeps {
  provider: Provider;
  flow: SignInFlow;
  accounts: Pick<Accounts, 'findAccount'>;
  audit: Audit;
  views: Views;
  csrf: Csrf;
  finishSignIn: FinishSignIn;
  clock: Clock;
}

/** "14 March 2031 at 09:30 UTC": a deadline in words, with the time it really ends. */
export function deadlineText(at: number): string {
  const date = new Intl.DateTimeFormat('en-GB', { day: 'numeric', month: 'long', year: 'numeric', timeZone: 'UTC' });
  return `${date.format(at)} at ${new Date(at).toISOString().slice(11, 16)} UTC`;
}

/**
 * The enrolment grace at sign-in (issue 9): a member of an organization that enforces TFA, with
 * no method yet and a deadline ahead, sees it at every sign-in and chooses to set up a method now
 * (the enrolment at sign-in) or later (the sign-in ends with the password alone: acr pwd, no mfa).
 * There is no way to move the deadline from here: only an administrator can.
 */
export function enrolmentGraceRoutes(deps: EnrolmentGraceDeps): Router {
  const { flow, csrf } = deps;
  const router = new Router({ prefix: '/interaction/:uid/grace' });

  async function requireGrace(ctx: Context) {
    const details = await loadLoginInteraction(deps.provider, ctx);
    const pending = await flow.pending(details.uid);
    if (pending?.step !== 'grace' || pending.graceUntil === undefined) throw expiredInteraction();
    return { uid: details.uid, pending, until: pending.graceUntil };
  }

  router.get('/', async (ctx) => {
    const { uid, until } = await requireGrace(ctx);
    const left = daysLeft(until, deps.clock.now());
    ctx.type = 'html';
    ctx.set('cache-control', 'no-store');
    ctx.body = await deps.views.render('interaction/grace', {
      title: 'Set up two-step verification',
      csrfToken: csrf.tokenFor(ctx),
      until: new Date(until).toISOString(),
      untilText: deadlineText(until),
      daysLeftText: left === 0 ? 'today is the last day' : `${left} day${left === 1 ? '' : 's'} left`,
      nowAction: `/interaction/${uid}/grace/now`,
      laterAction: `/interaction/${uid}/grace/later`,
    });
  });

  router.post('/now', formBody(), csrf.verify, async (ctx) => {
    const { uid } = await requireGrace(ctx);
    if (!(await flow.enrolNext(uid))) throw expiredInteraction();
    ctx.status = 303;
    ctx.redirect(`/interaction/${uid}/enrol`);
  });

  router.post('/later', formBody(), csrf.verify, async (ctx) => {
    const { uid, pending, until } = await requireGrace(ctx);
    const account = await deps.accounts.findAccount(pending.person.orgId, pending.person.userId);
    if (!account) throw expiredInteraction();
    const next = await flow.postpone(uid, account);
    if (!next) throw expiredInteraction();
    ctx.status = 303;
    // The deadline passed (or an administrator ended it) while this page was open: enrol now.
    if (next.step !== 'done') return void ctx.redirect(`/interaction/${uid}/enrol`);
    await deps.audit.record({
      type: 'tfa.enrolment_postponed',
      orgId: pending.person.orgId,
      userId: pending.person.userId,
      ip: ctx.ip,
      detail: { until: new Date(until).toISOString() },
    });
    ctx.redirect(await deps.finishSignIn(ctx, { person: pending.person, methods: next.methods }));
  });

  return router;
}
