import Router from '@koa/router';
import type { Context } from 'koa';

import { AppError } from '../../domain/errors.ts';
import type { PendingSignIn } from '../../domain/sign-in-flow.ts';
import type { ProvenMethod } from '../../factors/factor.ts';
import type { PhoneFactor } from '../../factors/phone/phone.ts';
import type { RecoveryCodes } from '../../factors/recovery-codes/recovery-codes.ts';
import type { TotpEnrolment, TotpFactor } from '../../factors/totp/totp.ts';
import type { WebauthnFactor } from '../../factors/webauthn/webauthn.ts';
import type { FactorKind, FactorStore } from '../../ports/factor-stores.ts';
import { formBody, jsonBody } from '../middleware/form-body.ts';
import type { Views } from '../../ports/views.ts';
import { factorForm, parsePhone, statusFor } from './factor-forms.ts';
import { expiredInteraction, loadLoginInteraction } from './interaction-support.ts';
import { completeSignIn, type SecondFactorDeps } from './second-factor.ts';

export interface EnrolmentDeps extends Pick<SecondFactorDeps, 'provider' | 'flow' | 'trustedBrowsers' | 'audit' | 'secureCookies' | 'csrf' | 'throttle'> {
  factorStore: FactorStore;
  totp: TotpFactor;
  phone: PhoneFactor;
  webauthn: WebauthnFactor;
  recovery: RecoveryCodes;
  views: Views;
}

const phoneLinks = (uid: string) => ({ confirmAction: `/interaction/${uid}/enrol/phone/confirm`, backHref: `/interaction/${uid}/enrol` });

const form = factorForm;

/**
 * Enrolment inside sign-in, when the organization enforces TFA (or the relying party asks for
 * MFA) and the person has no factor yet. The enrolled factor's own verification is the second
 * factor of this sign-in; the recovery codes are shown once before the person continues.
 */
export function enrolmentRoutes(deps: EnrolmentDeps): Router {
  const { provider, flow, views, csrf } = deps;
  const router = new Router({ prefix: '/interaction/:uid/enrol' });

  /**
   * Enrolment is only for a sign-in that reached the enrol step: a person with no active factor
   * whose organization (or relying party) requires one. Anyone who already has a factor proves it
   * at /verify; letting them enrol here would turn a stolen password into an MFA session.
   */
  async function requirePending(ctx: Context): Promise<{ uid: string; pending: PendingSignIn }> {
    const details = await loadLoginInteraction(provider, ctx);
    const pending = await flow.pending(details.uid);
    if (!pending || pending.step !== 'enrol' || !pending.mfaRequired) throw expiredInteraction();
    return { uid: details.uid, pending };
  }

  /** Starting or confirming an enrolment: still no active factor, and none enrolled in this sign-in. */
  async function requireUnenrolled(ctx: Context): Promise<{ uid: string; pending: PendingSignIn }> {
    const state = await requirePending(ctx);
    const active = await deps.factorStore.hasActiveFactor(state.pending.person.orgId, state.pending.person.userId);
    if (active || state.pending.enrolled) throw new AppError('already_enrolled', 409, 'Two-step verification is already set up. Go back to the application and sign in again.');
    return state;
  }

  async function render(ctx: Context, view: string, title: string, model: Record<string, unknown>) {
    ctx.type = 'html';
    ctx.set('cache-control', 'no-store');
    ctx.body = await views.render(view, { title, csrfToken: csrf.tokenFor(ctx), ...model });
  }

  const parse = (ctx: Context) => {
    const parsed = form.safeParse(ctx.request.body);
    if (!parsed.success) throw new AppError('invalid_form', 400, 'The form could not be read. Go back and try again.');
    return parsed.data;
  };

  async function enrolled(uid: string, pending: PendingSignIn, proven: ProvenMethod, ctx: Context) {
    await flow.save(uid, { ...pending, enrolled: proven });
    await deps.audit.record({ type: 'tfa.enrolled', orgId: pending.person.orgId, userId: pending.person.userId, ip: ctx.ip, detail: { method: proven.method } });
    ctx.status = 303;
    ctx.redirect(`/interaction/${uid}/enrol/codes`);
  }

  async function pendingFactor(pending: PendingSignIn, factorId: string, kinds: FactorKind[]) {
    const factor = await deps.factorStore.findFactor(pending.person.orgId, pending.person.userId, factorId);
    if (!factor || factor.active || !kinds.includes(factor.kind)) throw new AppError('unknown_factor', 400, 'This setup has expired. Start again.');
    return factor;
  }

  router.get('/', async (ctx) => {
    const { uid, pending } = await requirePending(ctx);
    if (pending.enrolled) return void ctx.redirect(`/interaction/${uid}/enrol/codes`);
    await render(ctx, 'interaction/enrol', 'Set up two-step verification', { uid, errors: {}, values: {} });
  });

  const showTotp = (ctx: Context, uid: string, enrolment: TotpEnrolment, error: string | null) =>
    render(ctx, 'interaction/enrol-totp', 'Set up your authenticator app', { uid, enrolment, error, confirmAction: `/interaction/${uid}/enrol/totp/confirm` });

  router.post('/totp', formBody(), csrf.verify, async (ctx) => {
    const { uid, pending } = await requireUnenrolled(ctx);
    await showTotp(ctx, uid, await deps.totp.beginEnrolment(pending.person, parse(ctx).label), null);
  });

  router.post('/totp/confirm', formBody(), csrf.verify, async (ctx) => {
    const { uid, pending } = await requireUnenrolled(ctx);
    const { factorId, code } = parse(ctx);
    const factor = await pendingFactor(pending, factorId, ['totp']);
    const outcome = await deps.totp.confirmEnrolment(pending.person, factor, code);
    if (!outcome.ok) {
      ctx.status = statusFor(outcome.reason);
      return showTotp(ctx, uid, await deps.totp.showEnrolment(pending.person, factor), outcome.message);
    }
    await enrolled(uid, pending, outcome.proven, ctx);
  });

  router.post('/phone', formBody(), csrf.verify, async (ctx) => {
    const { uid, pending } = await requireUnenrolled(ctx);
    const input = parse(ctx);
    const phone = parsePhone(input.phone);
    if (!phone.success) {
      ctx.status = 400;
      return render(ctx, 'interaction/enrol', 'Set up two-step verification', { uid, errors: { phone: phone.error.issues[0]!.message }, values: { phone: input.phone, kind: input.kind } });
    }
    const { factor, sent } = await deps.phone.beginEnrolment(pending.person, input.kind, phone.data, input.label, uid, ctx.ip);
    if (!sent.ok) ctx.status = sent.reason === 'rate_limited' ? 429 : 503;
    await render(ctx, 'interaction/enrol-phone', 'Confirm your phone number', { ...phoneLinks(uid), factorId: factor.id, kind: factor.kind, hint: phone.data.slice(-2), error: sent.ok ? null : sent.message });
  });

  router.post('/phone/confirm', formBody(), csrf.verify, async (ctx) => {
    const { uid, pending } = await requireUnenrolled(ctx);
    const { factorId, code } = parse(ctx);
    const factor = await pendingFactor(pending, factorId, ['sms', 'voice']);
    // Each code has its own guess budget; a mistyped enrolment code must not slow the person's
    // later sign-ins, so the sign-in throttle is not involved here (nor for the account pages).
    const outcome = await deps.phone.verify(pending.person, factor, uid, code);
    if (!outcome.ok) {
      ctx.status = statusFor(outcome.reason);
      return render(ctx, 'interaction/enrol-phone', 'Confirm your phone number', { ...phoneLinks(uid), factorId: factor.id, kind: factor.kind, hint: factor.phone!.slice(-2), error: outcome.message });
    }
    await enrolled(uid, pending, outcome.proven, ctx);
  });

  router.post('/webauthn/options', jsonBody(), csrf.verify, async (ctx) => {
    const { uid, pending } = await requireUnenrolled(ctx);
    ctx.body = await deps.webauthn.registrationOptions(pending.person, uid, { passkey: (ctx.request.body as { passkey?: unknown }).passkey === true });
  });

  router.post('/webauthn', jsonBody(), csrf.verify, async (ctx) => {
    const { uid, pending } = await requireUnenrolled(ctx);
    const { credential, label } = ctx.request.body as { credential?: unknown; label?: unknown };
    const result = await deps.webauthn.completeRegistration(pending.person, uid, credential, label);
    if (!result.ok) throw new AppError('registration_failed', 400, result.message);
    await flow.save(uid, { ...pending, enrolled: { method: 'webauthn', amr: result.amr, factorId: result.factor.id } });
    await deps.audit.record({ type: 'tfa.enrolled', orgId: pending.person.orgId, userId: pending.person.userId, ip: ctx.ip, detail: { method: 'webauthn' } });
    ctx.body = { redirect: `/interaction/${uid}/enrol/codes` };
  });

  router.get('/codes', async (ctx) => {
    const { uid, pending } = await requirePending(ctx);
    if (!pending.enrolled) return void ctx.redirect(`/interaction/${uid}/enrol`);
    // Shown once: the first visit makes the set; a reload says where to make a new one.
    const codes = pending.codesShown ? null : await deps.recovery.regenerate(pending.person);
    if (codes) await flow.save(uid, { ...pending, codesShown: true });
    await render(ctx, 'interaction/recovery-codes', 'Save your recovery codes', { codes, download: codes ? codes.join('\n') : '', finishAction: `/interaction/${uid}/enrol/finish` });
  });

  router.post('/finish', formBody(), csrf.verify, async (ctx) => {
    const { uid, pending } = await requirePending(ctx);
    if (!pending.enrolled) throw expiredInteraction();
    ctx.status = 303;
    ctx.redirect(await completeSignIn(deps, ctx, uid, pending, pending.enrolled, false));
  });

  return router;
}
