import Router from '@koa/router';
import type { Context, Middleware } from 'koa';
import { z } from 'zod';

import type { AccountSecurity } from '../../domain/account-security.ts';
import type { AccountSession, AccountSessions } from '../../domain/account-sessions.ts';
import { AppError } from '../../domain/errors.ts';
import type { Person } from '../../factors/factor.ts';
import type { Factors } from '../../factors/registry.ts';
import type { EphemeralStore } from '../../ports/ephemeral-store.ts';
import type { OrganizationStore, UserStore } from '../../ports/stores.ts';
import type { Csrf } from '../middleware/csrf.ts';
import { formBody, jsonBody } from '../middleware/form-body.ts';
import { ACCOUNT_COOKIE } from './account-auth.ts';
import type { Views } from '../../ports/views.ts';
import { factorForm, parsePhone, statusFor } from './factor-forms.ts';
import { createAccountRenderer, loadAccountContext } from './account-context.ts';

export interface AccountTwoFactorDeps {
  security: AccountSecurity;
  sessions: AccountSessions;
  factors: Factors;
  users: UserStore;
  organizations: OrganizationStore;
  ephemeral: EphemeralStore;
  views: Views;
  csrf: Csrf;
  requireAccount: Middleware;
  requireFreshAuth: Middleware;
  /** The step-up window, for the wording on the page. */
  maxAgeSeconds: number;
}

const form = factorForm;

const NOTICES: Record<string, string> = {
  added: 'The method was added.',
  removed: 'The method was removed.',
  preferred: 'Your preferred method was changed.',
  disabled: 'Two-step verification is off. Your methods and recovery codes were deleted.',
  revoked: 'That browser will ask for your second step again.',
};

/**
 * Two-step verification settings. Every change sits behind requireFreshAuth (OIDC max_age,
 * 300 s by default), declared once on the routes below and never re-checked in a handler.
 */
export function accountTwoFactorRoutes(deps: AccountTwoFactorDeps): Router {
  const { security, factors, views, csrf } = deps;
  const router = new Router({ prefix: '/account' });
  const change = [formBody(), csrf.verify, deps.requireAccount, deps.requireFreshAuth];
  const changeJson = [jsonBody(), csrf.verify, deps.requireAccount, deps.requireFreshAuth];

  async function context(ctx: Context) {
    const { account, found, person } = await loadAccountContext(ctx, deps.users);
    return { account, person, org: found.organization, binding: `account:${account.userId}` };
  }
  const render = createAccountRenderer(views, csrf);

  const parse = (ctx: Context) => {
    const parsed = form.safeParse(ctx.request.body);
    if (!parsed.success) throw new AppError('invalid_form', 400, 'The form could not be read. Reload the page and try again.');
    return parsed.data;
  };

  /** New recovery codes wait for this account session alone (not every browser of the person). */
  const codesKey = (ctx: Context) => `show-codes:${(ctx.state.account as AccountSession).id}`;

  async function afterAdded(ctx: Context, person: Person, method: string, amr: string[]) {
    // The new factor was just proven here: with this fresh sign-in's password, the session is MFA.
    await deps.sessions.addFactor(ctx.cookies.get(ACCOUNT_COOKIE), amr);
    const codes = await security.methodAdded(person, method, ctx.ip);
    if (codes) await deps.ephemeral.put(codesKey(ctx), codes, 600);
    return codes ? '/account/recovery-codes' : '/account/two-factor?done=added';
  }

  const settingsPage = async (ctx: Context, extra: { errors?: Record<string, string>; values?: Record<string, string>; alert?: string | null } = {}) => {
    const { person, org } = await context(ctx);
    const done = typeof ctx.query.done === 'string' ? NOTICES[ctx.query.done] : undefined;
    await render(ctx, 'account/two-factor', 'Two-step verification', {
      nav: 'two-factor',
      overview: await security.overview(person, org),
      orgName: org.name,
      maxAgeText: deps.maxAgeSeconds % 60 === 0 ? `${deps.maxAgeSeconds / 60} minute${deps.maxAgeSeconds === 60 ? '' : 's'}` : `${deps.maxAgeSeconds} seconds`,
      notice: done ?? null,
      alert: extra.alert ?? null,
      errors: extra.errors ?? {},
      values: extra.values ?? {},
    });
  };

  router.get('/two-factor', deps.requireAccount, (ctx) => settingsPage(ctx));

  router.post('/two-factor/totp', ...change, async (ctx) => {
    const { person } = await context(ctx);
    const enrolment = await factors.totp.beginEnrolment(person, parse(ctx).label);
    await render(ctx, 'interaction/enrol-totp', 'Set up your authenticator app', { enrolment, error: null, confirmAction: '/account/two-factor/totp/confirm' });
  });

  router.post('/two-factor/totp/confirm', ...change, async (ctx) => {
    const { person } = await context(ctx);
    const { factorId, code } = parse(ctx);
    const factor = await factors.store.findFactor(person.orgId, person.userId, factorId);
    if (!factor || factor.active || factor.kind !== 'totp') throw new AppError('unknown_factor', 400, 'This setup has expired. Start again from your two-step verification settings.');
    const outcome = await factors.totp.confirmEnrolment(person, factor, code);
    if (!outcome.ok) {
      ctx.status = statusFor(outcome.reason);
      return render(ctx, 'interaction/enrol-totp', 'Set up your authenticator app', { enrolment: await factors.totp.showEnrolment(person, factor), error: outcome.message, confirmAction: '/account/two-factor/totp/confirm' });
    }
    ctx.status = 303;
    ctx.redirect(await afterAdded(ctx, person, 'totp', outcome.proven.amr));
  });

  router.post('/two-factor/phone', ...change, async (ctx) => {
    const { person, binding } = await context(ctx);
    const input = parse(ctx);
    const phone = parsePhone(input.phone);
    if (!phone.success) {
      ctx.status = 400;
      return settingsPage(ctx, { errors: { phone: phone.error.issues[0]!.message }, values: { phone: input.phone } });
    }
    const { factor, sent } = await factors.phone.beginEnrolment(person, input.kind, phone.data, input.label, binding, ctx.ip);
    if (!sent.ok) ctx.status = sent.reason === 'rate_limited' ? 429 : 503;
    await render(ctx, 'interaction/enrol-phone', 'Confirm your phone number', {
      factorId: factor.id, kind: factor.kind, hint: phone.data.slice(-2), error: sent.ok ? null : sent.message,
      confirmAction: '/account/two-factor/phone/confirm', backHref: '/account/two-factor',
    });
  });

  router.post('/two-factor/phone/confirm', ...change, async (ctx) => {
    const { person, binding } = await context(ctx);
    const { factorId, code } = parse(ctx);
    const factor = await factors.store.findFactor(person.orgId, person.userId, factorId);
    if (!factor || factor.active || (factor.kind !== 'sms' && factor.kind !== 'voice')) throw new AppError('unknown_factor', 400, 'This setup has expired. Start again from your two-step verification settings.');
    const outcome = await factors.phone.verify(person, factor, binding, code);
    if (!outcome.ok) {
      ctx.status = statusFor(outcome.reason);
      return render(ctx, 'interaction/enrol-phone', 'Confirm your phone number', {
        factorId: factor.id, kind: factor.kind, hint: factor.phone!.slice(-2), error: outcome.message,
        confirmAction: '/account/two-factor/phone/confirm', backHref: '/account/two-factor',
      });
    }
    ctx.status = 303;
    ctx.redirect(await afterAdded(ctx, person, factor.kind, outcome.proven.amr));
  });

  router.post('/two-factor/webauthn/options', ...changeJson, async (ctx) => {
    const { person, binding } = await context(ctx);
    ctx.body = await factors.webauthn.registrationOptions(person, binding, { passkey: (ctx.request.body as { passkey?: unknown }).passkey === true });
  });

  router.post('/two-factor/webauthn', ...changeJson, async (ctx) => {
    const { person, binding } = await context(ctx);
    const { credential, label } = ctx.request.body as { credential?: unknown; label?: unknown };
    const result = await factors.webauthn.completeRegistration(person, binding, credential, label);
    if (!result.ok) throw new AppError('registration_failed', 400, result.message);
    ctx.body = { redirect: await afterAdded(ctx, person, 'webauthn', result.amr) };
  });

  const simple = (path: string, action: (ctx: Context, c: Awaited<ReturnType<typeof context>>, input: z.output<typeof form>) => Promise<string>) =>
    router.post(path, ...change, async (ctx) => {
      const target = await action(ctx, await context(ctx), parse(ctx));
      ctx.status = 303;
      ctx.redirect(target);
    });

  simple('/two-factor/remove', async (ctx, { person, org }, { factorId }) => (await security.removeMethod(person, org, factorId, ctx.ip), '/account/two-factor?done=removed'));
  simple('/two-factor/preferred', async (_ctx, { person }, { factorId }) => (await security.setPreferred(person, factorId), '/account/two-factor?done=preferred'));
  simple('/two-factor/disable', async (ctx, { person, org }) => (await security.disableTfa(person, org, ctx.ip), '/account/two-factor?done=disabled'));
  simple('/two-factor/recovery-codes', async (ctx, { person }) => {
    await deps.ephemeral.put(codesKey(ctx), await security.regenerateRecoveryCodes(person, ctx.ip), 600);
    return '/account/recovery-codes';
  });
  simple('/trusted-browsers/revoke', async (ctx, { person }, { id }) => (await security.revokeTrustedBrowser(person, id, ctx.ip), '/account/two-factor?done=revoked'));

  router.get('/recovery-codes', deps.requireAccount, async (ctx) => {
    // Shown once: taking them from the store means a reload cannot show them again.
    const codes = await deps.ephemeral.take<string[]>(codesKey(ctx));
    await render(ctx, 'interaction/recovery-codes', 'Save your recovery codes', { codes: codes ?? null, download: codes ? codes.join('\n') : '', finishAction: null });
  });

  return router;
}
