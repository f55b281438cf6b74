import Router from '@koa/router';
import type { Context } from 'koa';
import type Provider from 'oidc-provider';

import type { Accounts } from '../../domain/accounts.ts';
import type { UserWithOrganization } from '../../ports/stores.ts';
import type { Audit } from '../../domain/audit.ts';
import { httpErrors } from '../error-codes.ts';
import type { PendingSignIn, SignInFlow } from '../../domain/sign-in-flow.ts';
import type { TfaRequirement } from '../../domain/tfa-requirement.ts';
import type { Clock } from '../../ports/clock.ts';
import type { RecoveryCodes } from '../../factors/recovery-codes/recovery-codes.ts';
import type { FactorRegistry } from '../../factors/registry.ts';
import type { Csrf } from '../middleware/csrf.ts';
import { formBody } from '../middleware/form-body.ts';
import type { Transactions } from '../../ports/transactions.ts';
import type { Views } from '../../ports/views.ts';
import { codesFileName } from './factors/codes-file-name.ts';
import {
  enrolChoices,
  enrolmentRoutes as factorEnrolmentRoutes,
  type FieldProblem,
} from './factors/enrolment-routes.ts';
import { expiredInteraction, loadLoginInteraction } from './interaction-support.ts';
import type { FinishSignIn } from './sign-in-completion.ts';
import { brandFor } from './brand.ts';

export interface EnrolmentDeps {
  provider: Provider;
  accounts: Accounts;
  flow: SignInFlow;
  requirement: TfaRequirement;
  clock: Clock;
  registry: FactorRegistry;
  recovery: RecoveryCodes;
  audit: Audit;
  views: Views;
  csrf: Csrf;
  finishSignIn: FinishSignIn;
  transactions: Pick<Transactions, 'run'>;
}

/**
 * Enrolment inside sign-in, when the organization enforces TFA (or the relying party asks for
 * MFA) and the person has no factor yet, or has only methods the organization forbids now (they
 * proved one of them first). Only allowed methods are offered. The enrolled factor's own
 * verification is the second factor of this sign-in; new recovery codes are shown once before
 * the person continues (someone who still has codes keeps them).
 */
export function enrolmentRoutes(deps: EnrolmentDeps): Router[] {
  const { provider, flow, views, csrf } = deps;
  const router = new Router({ prefix: '/interaction/:uid/enrol' });

  /**
   * Enrolment is only for a sign-in that reached the enrol step: a person with no active factor
   * whose organization (or relying party) requires one. Anyone who already has a factor proves it
   * at /verify; letting them enrol here would turn a stolen password into an MFA session.
   */
  async function requirePending(ctx: Context): Promise<{ uid: string; pending: PendingSignIn; clientId: unknown }> {
    const details = await loadLoginInteraction(provider, ctx);
    const pending = await flow.pending(details.uid);
    if (!pending || pending.step !== 'enrol' || !pending.mfaRequired) throw expiredInteraction();
    return { uid: details.uid, pending, clientId: details.params.client_id };
  }

  /**
   * The application that asked for MFA (acr_values) when the organization itself does not require
   * a second step of this person: the page names it rather than the organization.
   */
  async function askingApplication(account: UserWithOrganization, clientId: unknown): Promise<string | null> {
    if ((await deps.requirement.assess(account, { mfaRequested: false })).step !== 'none') return null;
    const client = typeof clientId === 'string' ? await provider.Client.find(clientId) : undefined;
    return client?.clientName ?? client?.clientId ?? 'The application';
  }

  /** The person and their organization as they are now: its policy decides which methods are offered. */
  async function accountOf(pending: PendingSignIn) {
    const account = await deps.accounts.findAccount(pending.person.orgId, pending.person.userId);
    if (!account) throw expiredInteraction();
    return { account, kinds: deps.registry.enrollableFor(account.organization, account.user.role).map((f) => f.kind) };
  }

  /**
   * Starting or confirming an enrolment: none enrolled in this sign-in, and still no allowed active
   * factor unless a bootstrap (a temporary access code) was proven to enrol a new one beside them.
   */
  async function requireUnenrolled(ctx: Context) {
    const state = await requirePending(ctx);
    const { account, kinds } = await accountOf(state.pending);
    const demand = await deps.requirement.assess(account, { mfaRequested: false });
    const mayEnrol = demand.step !== 'prove' || state.pending.bootstrapped === true;
    if (state.pending.enrolled || !mayEnrol) throw httpErrors.raise('already_enrolled');
    return { ...state, kinds };
  }

  async function render(
    ctx: Context,
    pending: PendingSignIn,
    view: string,
    model: Record<string, unknown> & { title: string },
  ) {
    ctx.type = 'html';
    ctx.set('cache-control', 'no-store');
    ctx.body = await views.render(view, {
      csrfToken: csrf.tokenFor(ctx),
      brand: brandFor(ctx, pending.organization),
      ...model,
    });
  }

  async function showMethods(
    ctx: Context,
    { uid, pending, clientId }: { uid: string; pending: PendingSignIn; clientId: unknown },
    problem: FieldProblem | null,
  ) {
    const { account, kinds } = await accountOf(pending);
    const methods = await enrolChoices(deps.registry, kinds, pending.person);
    const shown = problem && {
      kind: problem.kind,
      errors: { [problem.field]: problem.message },
      values: problem.values,
    };
    await render(ctx, pending, 'interaction/enrol', {
      title: 'Set up two-step verification',
      base: `/interaction/${uid}/enrol`,
      methods,
      problem: shown,
      switching: pending.switching,
      bootstrapped: pending.bootstrapped === true,
      askedBy: await askingApplication(account, clientId),
    });
  }

  router.get('/', async (ctx) => {
    const state = await requirePending(ctx);
    if (state.pending.enrolled) return void ctx.redirect(`/interaction/${state.uid}/enrol/codes`);
    await showMethods(ctx, state, null);
  });

  router.get('/codes', async (ctx) => {
    const { uid, pending } = await requirePending(ctx);
    if (!pending.enrolled) return void ctx.redirect(`/interaction/${uid}/enrol`);
    // Shown once: the first visit makes the set; a reload says where to make a new one.
    const codes = pending.codesShown ? null : await deps.recovery.regenerate(pending.person);
    if (codes) await flow.save(uid, { ...pending, codesShown: true });
    const found = await deps.accounts.findAccount(pending.person.orgId, pending.person.userId);
    await render(ctx, pending, 'interaction/recovery-codes', {
      title: 'Save your recovery codes',
      codes,
      download: codes ? codes.join('\n') : '',
      fileName: codesFileName(
        { organizationSlug: found?.organization.slug ?? '', email: pending.person.email },
        deps.clock.now(),
      ),
      finishAction: `/interaction/${uid}/enrol/finish`,
    });
  });

  router.post('/finish', formBody(), csrf.verify, async (ctx) => {
    const { uid, pending } = await requirePending(ctx);
    if (!pending.enrolled) throw expiredInteraction();
    const methods = await flow.complete(uid, pending.enrolled);
    if (!methods) throw expiredInteraction();
    ctx.status = 303;
    ctx.redirect(await deps.finishSignIn(ctx, { person: pending.person, methods }));
  });

  const factorRoutes = factorEnrolmentRoutes(deps.registry, {
    prefix: '/interaction/:uid/enrol',
    guards: [csrf.verify],
    transactions: deps.transactions,
    messages: {
      unreadable: 'The form could not be read. Go back and try again.',
      setupExpired: 'This setup has expired. Start again.',
    },
    async load(ctx) {
      const { uid, pending, kinds } = await requireUnenrolled(ctx);
      return { person: pending.person, binding: uid, base: `/interaction/${uid}/enrol`, kinds };
    },
    async showMethods(ctx, problem) {
      await showMethods(ctx, await requireUnenrolled(ctx), problem);
    },
    async enrolled(ctx, person, proven) {
      // The factor is active now: only the pending sign-in is needed, not "still unenrolled".
      const { uid, pending } = await requirePending(ctx);
      await flow.save(uid, { ...pending, enrolled: proven });
      await deps.audit.record({
        type: 'tfa.enrolled',
        orgId: person.orgId,
        userId: person.userId,
        ip: ctx.ip,
        detail: { method: proven.method },
      });
      if ((await deps.recovery.remaining(person)) === 0) return `/interaction/${uid}/enrol/codes`;
      // A person who replaced a forbidden method keeps the recovery codes they have.
      const methods = await flow.complete(uid, proven);
      if (!methods) throw expiredInteraction();
      return deps.finishSignIn(ctx, { person, methods });
    },
    render: async (ctx, view, model) =>
      render(ctx, (await requirePending(ctx)).pending, view, { title: 'Set up two-step verification', ...model }),
  });

  return [router, factorRoutes];
}
