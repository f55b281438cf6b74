import Router from '@koa/router';
import type { Context, Middleware } from 'koa';

import type { Audit } from '../../../domain/audit.ts';
import { domainErrors } from '../../../domain/error-codes.ts';
import type { AppError } from '../../../domain/errors.ts';
import { httpErrors } from '../../error-codes.ts';
import type { AttemptKeys, Throttle } from '../../../domain/throttle.ts';
import type { Factor, Person, ProvenMethod } from '../../../factors/factor.ts';
import type { FactorRegistry } from '../../../factors/registry.ts';
import type { FactorRecord } from '../../../ports/factor-stores.ts';
import { formOrJsonBody } from '../../middleware/form-body.ts';
import { choiceNamed, fromScript, goTo, readInput, refusalError, requireFactor } from './factor-requests.ts';
import { secondsText } from '../../../domain/duration-text.ts';

/** Who must prove a factor, with their active records, and the URL of the flow's page. */
export interface Prover {
  person: Person;
  binding: string;
  base: string;
  records: FactorRecord[];
  /** The factor kinds this person may prove here (their organization's allowed methods): any other is refused. */
  kinds: readonly string[];
}

/** What the flow's page shows besides its choices: a code just sent, or why the last try failed. */
export interface VerifyNotice {
  challenged?: boolean;
  error?: string;
  /** A delay still runs (the throttle): the page counts it down. */
  waitSeconds?: number;
  /** The method's send budget is used up: sending is no longer the page's way on. */
  sendLimited?: boolean;
  /** The code could not be sent just now (a slow or failing gateway): the other methods are the way on. */
  sendFailed?: boolean;
}

/**
 * One place where a person proves a second factor (the second step of sign-in; later password
 * reset): it says who the person is, how its page looks, and what happens once it is proven.
 */
export interface VerificationFlow<S extends Prover = Prover> {
  /** Router prefix; the factor routes are `<prefix>/:kind` and `<prefix>/:kind/challenge`. */
  prefix: string;
  guards: Middleware[];
  unreadable: string;
  /** The audit event of a refused proof. */
  failureEvent: string;
  load(ctx: Context): Promise<S>;
  show(ctx: Context, state: S, choice: string | undefined, notice: VerifyNotice): Promise<void>;
  proven(ctx: Context, state: S, proven: ProvenMethod): Promise<string>;
  /**
   * Shows what the factor had to say once proven (its `proven` view with `notice`) and a way on to
   * `next`; without it the browser goes straight on.
   */
  showNotice?(ctx: Context, state: S, notice: FactorNotice, next: string): Promise<void>;
}

/** A factor's word after a proof: the factor's kind names its view, the model fills it. */
export interface FactorNotice {
  kind: string;
  model: Record<string, unknown>;
}

export interface VerificationDeps {
  registry: FactorRegistry;
  throttle: Throttle;
  audit: Audit;
}

/** The flow's page (GET), a factor's challenge (send a code, WebAuthn options) and its proof. */
export function verificationRoutes<S extends Prover>(deps: VerificationDeps, flow: VerificationFlow<S>): Router {
  const router = new Router({ prefix: flow.prefix });
  const steps = [formOrJsonBody(), ...flow.guards];
  const recordsOf = (state: S, factor: Factor) => state.records.filter((r) => r.kind === factor.kind);

  /** Refused: JSON for a script, else the flow's page again with the message and the same choice. */
  async function refuse(ctx: Context, state: S, kind: string, error: AppError, notice: VerifyNotice = {}) {
    if (fromScript(ctx)) throw error;
    ctx.status = error.status;
    await flow.show(ctx, state, choiceNamed(ctx, kind), { ...notice, error: error.message });
  }

  /** Refused by the attempt guard: a delay still runs, or (busy) another attempt for this account is being checked. */
  async function refuseThrottled(
    ctx: Context,
    state: S,
    kind: string,
    attempt: { status: 'wait' | 'busy'; seconds?: number; report: boolean },
  ) {
    const seconds = attempt.seconds ?? 1;
    ctx.set('Retry-After', String(seconds));
    const { person } = state;
    if (attempt.report)
      await deps.audit.record({
        type: 'signin.throttled',
        orgId: person.orgId,
        userId: person.userId,
        detail: { method: kind, retryAfterSeconds: seconds, concurrent: attempt.status === 'busy' },
      });
    if (attempt.status === 'busy') return refuse(ctx, state, kind, httpErrors.raise('busy'));
    // Nothing is checked while a delay runs, a right code included: saying so spares people
    // from doubting a code that may well be right (NIST SP 800-63B §5.2.2 rate limiting).
    const error = domainErrors.raise('throttled', {
      message: `Too many wrong tries. Your code was not checked: wait ${secondsText(seconds)}, then enter it again.`,
    });
    return refuse(ctx, state, kind, error, { waitSeconds: seconds });
  }

  router.get('/', async (ctx) => {
    const state = await flow.load(ctx);
    const method = typeof ctx.query.method === 'string' ? ctx.query.method : undefined;
    await flow.show(ctx, state, method, { challenged: ctx.query.sent === '1' });
  });

  router.post('/:kind/challenge', ...steps, async (ctx) => {
    const state = await flow.load(ctx);
    const factor = requireFactor(deps.registry, ctx, (f) => f.challenge !== undefined && state.kinds.includes(f.kind));
    const input = readInput(factor, ctx, flow.unreadable);
    const step = await factor.challenge!(state.person, recordsOf(state, factor), input, {
      binding: state.binding,
      ip: ctx.ip,
    });
    if (!step.ok && step.reason === 'malformed') throw refusalError(step);
    if (!step.ok)
      return refuse(ctx, state, factor.kind, refusalError(step), {
        sendLimited: step.reason === 'rate_limited',
        sendFailed: step.reason === 'unavailable',
      });
    if (fromScript(ctx)) return void (ctx.body = step.model);
    goTo(ctx, `${state.base}?method=${encodeURIComponent(choiceNamed(ctx, factor.kind))}&sent=1`);
  });

  router.post('/:kind', ...steps, async (ctx) => {
    const state = await flow.load(ctx);
    const factor = requireFactor(deps.registry, ctx, (f) => state.kinds.includes(f.kind));
    const input = readInput(factor, ctx, flow.unreadable);
    const { person } = state;
    const keys: AttemptKeys = { account: person.userId, ip: ctx.ip };
    const attempt = await deps.throttle.attempt(keys, () =>
      factor.verify(person, recordsOf(state, factor), input, { binding: state.binding, ip: ctx.ip }),
    );
    if (attempt.status !== 'checked') return refuseThrottled(ctx, state, factor.kind, attempt);
    const { outcome } = attempt;
    if (!outcome.ok) {
      // A right code that was already used (RFC 6238 §5.2) is no typo: someone may have seen it.
      await deps.audit.record({
        type: outcome.reason === 'reused' ? 'signin.code_replayed' : flow.failureEvent,
        orgId: person.orgId,
        userId: person.userId,
        ip: ctx.ip,
        detail: { method: factor.kind, reason: outcome.reason },
      });
      return refuse(ctx, state, factor.kind, refusalError(outcome));
    }
    const next = await flow.proven(ctx, state, outcome.proven);
    if (outcome.notice && flow.showNotice && !fromScript(ctx))
      return flow.showNotice(ctx, state, { kind: factor.kind, model: outcome.notice }, next);
    goTo(ctx, next);
  });

  return router;
}
