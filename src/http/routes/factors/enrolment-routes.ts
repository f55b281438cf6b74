import Router from '@koa/router';
import type { Context, Middleware } from 'koa';

import type { Factor, Person, ProvenMethod } from '../../../factors/factor.ts';
import type { FactorRegistry } from '../../../factors/registry.ts';
import type { Transactions } from '../../../ports/transactions.ts';
import { formOrJsonBody } from '../../middleware/form-body.ts';
import { fromScript, goTo, readInput, refusalError, requireFactor, statusFor } from './factor-requests.ts';

/** Who is enrolling, where one-time state is bound, and the URL of the flow's list of methods. */
export interface Enroller {
  person: Person;
  binding: string;
  base: string;
  /** The factor kinds this person may enrol (their organization's allowed methods): any other is refused. */
  kinds: readonly string[];
}

/** A field refused when an enrolment begins (a phone number), shown next to it on the list of methods. */
export interface FieldProblem {
  kind: string;
  field: string;
  message: string;
  values: Record<string, unknown>;
}

/**
 * One place where a factor can be enrolled (at sign-in, on the account pages): it says only
 * who the person is and what happens once the new factor is proven.
 */
export interface EnrolmentFlow {
  /** Router prefix; the factor routes are `<prefix>/method/:kind` and `<prefix>/method/:kind/confirm`. */
  prefix: string;
  /** Run before every step, after the body is read (CSRF, the account session, step-up). */
  guards: Middleware[];
  /** Where a confirmation's durable writes become one transaction. */
  transactions: Pick<Transactions, 'run'>;
  messages: { unreadable: string; setupExpired: string };
  load(ctx: Context): Promise<Enroller>;
  /** The flow's list of methods again, with the refused field marked. */
  showMethods(ctx: Context, problem: FieldProblem): Promise<void>;
  /** The new factor is proven: what the flow records, and where the browser goes. */
  enrolled(ctx: Context, person: Person, proven: ProvenMethod): Promise<string>;
  render(ctx: Context, view: string, model: Record<string, unknown>): Promise<void>;
}

/** One method a list of methods offers, with its enrol form's model (views/partials/enrol-methods.ejs). */
export interface EnrolChoice {
  kind: string;
  form: Record<string, unknown>;
}

/** The methods of `kinds` the person may add, each with what its form needs shown. */
export async function enrolChoices(registry: FactorRegistry, kinds: string[], person: Person): Promise<EnrolChoice[]> {
  return Promise.all(
    kinds.map(async (kind) => ({ kind, form: (await registry.get(kind)?.enrolment?.form?.(person)) ?? {} })),
  );
}

const canEnrol = (enroller: Enroller) => (factor: Factor) =>
  factor.enrolment !== undefined && enroller.kinds.includes(factor.kind);

/**
 * Begin and confirm for every enrollable factor of the registry, in one flow. A confirmation is one
 * transaction: the factor's activation and what the flow records of it (its event, new recovery
 * codes) commit together, so a crash part-way leaves the person as they were (issue 11).
 */
export function enrolmentRoutes(registry: FactorRegistry, flow: EnrolmentFlow): Router {
  const router = new Router({ prefix: flow.prefix });
  const steps = [formOrJsonBody(), ...flow.guards];

  const confirmPage = (
    ctx: Context,
    factor: Factor,
    base: string,
    model: Record<string, unknown>,
    error: string | null,
  ) =>
    flow.render(ctx, `factors/${factor.kind}/confirm`, {
      title: factor.name,
      ...model,
      kind: factor.kind,
      confirmAction: `${base}/method/${factor.kind}/confirm`,
      // A new code begins the enrolment again with the same fields (the factor has no challenge of its own here).
      beginAction: `${base}/method/${factor.kind}`,
      backHref: base,
      error,
    });

  router.post('/method/:kind', ...steps, async (ctx) => {
    const enroller = await flow.load(ctx);
    const { person, binding, base } = enroller;
    const factor = requireFactor(registry, ctx, canEnrol(enroller));
    const input = readInput(factor, ctx, flow.messages.unreadable);
    const step = await factor.enrolment!.begin(person, input, { binding, ip: ctx.ip });
    if (!step.ok && step.field && !fromScript(ctx)) {
      ctx.status = statusFor(step.reason);
      return flow.showMethods(ctx, {
        kind: factor.kind,
        field: step.field,
        message: step.message,
        values: ctx.request.body as Record<string, unknown>,
      });
    }
    if (!step.ok) throw refusalError(step);
    if (fromScript(ctx)) return void (ctx.body = step.model);
    if (step.warning) ctx.status = statusFor(step.warning.reason);
    await confirmPage(ctx, factor, base, step.model, step.warning?.message ?? null);
  });

  router.post('/method/:kind/confirm', ...steps, async (ctx) => {
    const enroller = await flow.load(ctx);
    const { person, binding, base } = enroller;
    const factor = requireFactor(registry, ctx, canEnrol(enroller));
    const input = readInput(factor, ctx, flow.messages.unreadable);
    const confirmed = await flow.transactions.run(async () => {
      const outcome = await factor.enrolment!.confirm(person, input, { binding, ip: ctx.ip });
      return { outcome, next: outcome.ok ? await flow.enrolled(ctx, person, outcome.proven) : null };
    });
    const { outcome, next } = confirmed;
    if (outcome.ok) return goTo(ctx, next!);
    if (outcome.reason === 'setup_expired')
      throw refusalError({ reason: 'setup_expired', message: flow.messages.setupExpired });
    if (fromScript(ctx) || !outcome.model) throw refusalError(outcome);
    ctx.status = statusFor(outcome.reason);
    await confirmPage(ctx, factor, base, outcome.model, outcome.message);
  });

  return router;
}
