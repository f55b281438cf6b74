import type { Context } from 'koa';

import { factorErrors } from '../../../factors/error-codes.ts';
import { httpErrors } from '../../error-codes.ts';
import type { Factor, FailureReason, Refusal } from '../../../factors/factor.ts';
import type { FactorRegistry } from '../../../factors/registry.ts';

/** The HTTP status of a refused step, the same on every page and endpoint. */
export const statusFor = (reason: FailureReason): number => factorErrors.specs[reason].status;

/** The request came from a script (WebAuthn's JSON) rather than a page's form: answer in JSON. */
export const fromScript = (ctx: Context): boolean => ctx.is('json') === 'json';

export const unknownMethod = () => httpErrors.raise('method_unavailable');

/** The factor the URL names (`:kind`), if the registry has it and it can do what is asked. */
export function requireFactor(
  registry: FactorRegistry,
  ctx: Context,
  can: (factor: Factor) => boolean = () => true,
): Factor {
  const kind: unknown = ctx.params.kind;
  const factor = typeof kind === 'string' ? registry.get(kind) : undefined;
  if (!factor || !can(factor)) throw unknownMethod();
  return factor;
}

/** The factor's own fields from the body, parsed by its schema before anything else happens. */
export function readInput(factor: Factor, ctx: Context, unreadable: string): unknown {
  const parsed = factor.input.safeParse(ctx.request.body ?? {});
  if (!parsed.success) throw httpErrors.raise('invalid_form', { message: unreadable });
  return parsed.data;
}

/** A refusal as an error the error boundary answers (JSON for scripts, a page for people). */
export const refusalError = (refusal: Pick<Refusal, 'reason' | 'message'>) =>
  factorErrors.raise(refusal.reason, { message: refusal.message });

/** Sends the browser on: a 303 for a page, `{ redirect }` for a script. */
export function goTo(ctx: Context, target: string): void {
  if (fromScript(ctx)) {
    ctx.body = { redirect: target };
    return;
  }
  ctx.status = 303;
  ctx.redirect(target);
}

/** The body's `factorId`, when it names one of the choices; else the kind (factors without records). */
export function choiceNamed(ctx: Context, kind: string): string {
  const id = (ctx.request.body as Record<string, unknown> | undefined)?.factorId;
  return typeof id === 'string' && id !== '' ? id : kind;
}
