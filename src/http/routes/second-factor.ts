import Router from '@koa/router';
import type { Context } from 'koa';
import type Provider from 'oidc-provider';
import { z } from 'zod';

import type { Audit } from '../../domain/audit.ts';
import { AppError } from '../../domain/errors.ts';
import type { PendingSignIn, SignInFlow } from '../../domain/sign-in-flow.ts';
import type { Throttle } from '../../domain/throttle.ts';
import { describeBrowser, type TrustedBrowsers } from '../../domain/trusted-browsers.ts';
import { FACTOR_NAMES, summarizeFactor, type ProvenMethod, type VerifyOutcome } from '../../factors/factor.ts';
import type { PhoneFactor } from '../../factors/phone/phone.ts';
import type { RecoveryCodes } from '../../factors/recovery-codes/recovery-codes.ts';
import type { TotpFactor } from '../../factors/totp/totp.ts';
import type { FactorRecord, FactorStore } from '../../ports/factor-stores.ts';
import type { Csrf } from '../middleware/csrf.ts';
import { formBody } from '../middleware/form-body.ts';
import type { Views } from '../../ports/views.ts';
import { statusFor } from './factor-forms.ts';
import { expiredInteraction, loadLoginInteraction, loginResult, resultUrl, TRUST_COOKIE } from './interaction-support.ts';

export interface SecondFactorDeps {
  provider: Provider;
  flow: SignInFlow;
  factorStore: FactorStore;
  totp: TotpFactor;
  phone: PhoneFactor;
  recovery: RecoveryCodes;
  trustedBrowsers: TrustedBrowsers;
  throttle: Throttle;
  audit: Audit;
  views: Views;
  csrf: Csrf;
  secureCookies: boolean;
}

const verifyForm = z.object({
  factorId: z.string().max(64).default(''),
  code: z.string().max(64, 'That code is too long.').default(''),
  trust: z.literal('on').optional(),
});

const LEADS: Record<string, string> = {
  totp: 'Open your authenticator app and enter the code it shows.',
  sms: 'Confirm it is you with a code sent by text message.',
  voice: 'Confirm it is you with a code read to you by phone.',
  webauthn: 'Confirm it is you with your security key or passkey.',
  recovery: 'Confirm it is you with one of your recovery codes.',
};


/**
 * The second step of sign-in: the person's preferred method first, "use another method" for the
 * rest. SMS and voice codes are sent only when asked for. Proving the factor resolves the login.
 */
export function secondFactorRoutes(deps: SecondFactorDeps): Router {
  const { provider, flow, views, csrf } = deps;
  const router = new Router({ prefix: '/interaction/:uid/verify' });

  async function requirePending(ctx: Context): Promise<{ uid: string; pending: PendingSignIn; factors: FactorRecord[] }> {
    const details = await loadLoginInteraction(provider, ctx);
    const pending = await flow.pending(details.uid);
    if (!pending || pending.step !== 'second-factor') throw expiredInteraction();
    return { uid: details.uid, pending, factors: await flow.activeFactors(pending.person) };
  }

  async function render(ctx: Context, state: { uid: string; pending: PendingSignIn; factors: FactorRecord[] }, choice: string | undefined, notice: { sent?: boolean; error?: string } = {}) {
    const { person } = state.pending;
    const preferred = await deps.factorStore.findPreferredFactorId(person.orgId, person.userId);
    const remaining = await deps.recovery.remaining(person);
    const current =
      choice === 'recovery' && remaining > 0
        ? null
        : (state.factors.find((f) => f.id === choice) ?? state.factors.find((f) => f.id === preferred) ?? state.factors[0]!);
    const methods = state.factors.map(summarizeFactor);
    const kind = current?.kind ?? 'recovery';
    ctx.type = 'html';
    ctx.set('cache-control', 'no-store');
    ctx.body = await views.render('interaction/second-factor', {
      title: 'Two-step verification',
      lead: LEADS[kind],
      uid: state.uid,
      csrfToken: csrf.tokenFor(ctx),
      current: current ? summarizeFactor(current) : { id: 'recovery', kind: 'recovery', kindName: FACTOR_NAMES.recovery, label: FACTOR_NAMES.recovery, hint: null },
      others: methods.filter((m) => m.id !== current?.id),
      recoveryAvailable: remaining > 0 && current !== null,
      remaining,
      sent: notice.sent ?? false,
      error: notice.error ?? null,
      trustDays: state.pending.reauthentication ? 0 : state.pending.trustDays,
    });
  }

  router.get('/', async (ctx) => {
    const state = await requirePending(ctx);
    const method = typeof ctx.query.method === 'string' ? ctx.query.method : undefined;
    await render(ctx, state, method, { sent: ctx.query.sent === '1' });
  });

  router.post('/send', formBody(), csrf.verify, async (ctx) => {
    const state = await requirePending(ctx);
    const parsed = verifyForm.safeParse(ctx.request.body);
    const factor = parsed.success ? state.factors.find((f) => f.id === parsed.data.factorId && (f.kind === 'sms' || f.kind === 'voice')) : undefined;
    if (!factor) throw new AppError('unknown_method', 400, 'That method is not available. Choose another one.');
    const sent = await deps.phone.sendCode(state.pending.person, factor, state.uid, ctx.ip);
    if (!sent.ok) {
      ctx.status = sent.reason === 'rate_limited' ? 429 : 503;
      return render(ctx, state, factor.id, { error: sent.message });
    }
    ctx.status = 303;
    ctx.redirect(`/interaction/${state.uid}/verify?method=${factor.id}&sent=1`);
  });

  async function check(state: { uid: string; pending: PendingSignIn; factors: FactorRecord[] }, factorId: string, code: string): Promise<VerifyOutcome> {
    const { person } = state.pending;
    if (factorId === 'recovery') return deps.recovery.verify(person, code);
    const factor = state.factors.find((f) => f.id === factorId);
    if (factor?.kind === 'totp') return deps.totp.verify(person, factor, code);
    if (factor?.kind === 'sms' || factor?.kind === 'voice') return deps.phone.verify(person, factor, state.uid, code);
    return { ok: false, reason: 'malformed', message: 'Choose a method to continue.' };
  }

  router.post('/', formBody(), csrf.verify, async (ctx) => {
    const state = await requirePending(ctx);
    const parsed = verifyForm.safeParse(ctx.request.body);
    if (!parsed.success) {
      ctx.status = 400;
      return render(ctx, state, undefined, { error: parsed.error.issues[0]!.message });
    }
    const { factorId, code, trust } = parsed.data;
    const { person } = state.pending;
    const keys = { account: person.userId, ip: ctx.ip };
    const attempt = await deps.throttle.exclusive(keys, async () => {
      const wait = await deps.throttle.retryAfter(keys);
      if (wait > 0) return { wait };
      const outcome = await check(state, factorId, code);
      await (outcome.ok ? deps.throttle.recordSuccess(keys) : deps.throttle.recordFailure(keys));
      return { outcome };
    });
    if (!attempt?.outcome) {
      const wait = attempt?.wait ?? 1;
      ctx.status = 429;
      ctx.set('Retry-After', String(wait));
      // No attempt: another one for this account (or too many from this address) is being checked.
      const error = attempt ? `Too many wrong codes. Wait ${wait} seconds, then try again.` : 'Another attempt is being checked. Try again in a moment.';
      return render(ctx, state, factorId, { error });
    }
    const { outcome } = attempt;
    if (!outcome.ok) {
      await deps.audit.record({ type: 'signin.second_factor_failed', orgId: person.orgId, userId: person.userId, ip: ctx.ip, detail: { method: factorId === 'recovery' ? 'recovery' : 'code', reason: outcome.reason } });
      ctx.status = statusFor(outcome.reason);
      return render(ctx, state, factorId, { error: outcome.message });
    }
    ctx.status = 303;
    ctx.redirect(await completeSignIn(deps, ctx, state.uid, state.pending, outcome.proven, trust === 'on'));
  });

  return router;
}

/** Records the proven factor, optionally trusts the browser, and returns where the browser goes. */
export async function completeSignIn(
  deps: Pick<SecondFactorDeps, 'provider' | 'flow' | 'trustedBrowsers' | 'audit' | 'secureCookies'>,
  ctx: Context,
  uid: string,
  pending: PendingSignIn,
  proven: ProvenMethod,
  trust: boolean,
): Promise<string> {
  const methods = await deps.flow.complete(uid, proven);
  if (!methods) throw expiredInteraction();
  const { person } = pending;
  if (proven.method === 'recovery') await deps.audit.record({ type: 'recovery_code.used', orgId: person.orgId, userId: person.userId, ip: ctx.ip });
  if (trust && pending.trustDays > 0 && !pending.reauthentication) {
    const { token, maxAgeMs } = await deps.trustedBrowsers.trust(person, pending.trustDays, describeBrowser(ctx.get('user-agent')));
    ctx.cookies.set(TRUST_COOKIE, token, { httpOnly: true, sameSite: 'lax', secure: deps.secureCookies, path: '/', maxAge: maxAgeMs, overwrite: true });
  }
  await deps.audit.record({ type: 'signin.succeeded', orgId: person.orgId, userId: person.userId, ip: ctx.ip, detail: { method: proven.method, amr: proven.amr } });
  return resultUrl(deps.provider, ctx, loginResult(person.userId, methods), false);
}
