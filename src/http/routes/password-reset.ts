import Router from '@koa/router';
import type { Context } from 'koa';
import type Provider from 'oidc-provider';
import type { Logger } from 'pino';
import { z } from 'zod';

import type { Accounts } from '../../domain/accounts.ts';
import { emailSchema } from '../../domain/email.ts';
import { AppError } from '../../domain/errors.ts';
import type { Methods } from '../../domain/methods.ts';
import type { PasswordResets } from '../../domain/password-resets.ts';
import { RESET_LINK_MINUTES } from '../../domain/password-resets.ts';
import { personOf } from '../../domain/sign-in-flow.ts';
import type { Throttle } from '../../domain/throttle.ts';
import { secondsText } from '../../domain/duration-text.ts';
import type { Clock } from '../../ports/clock.ts';
import { normalizeEmail } from '../../ports/stores.ts';
import type { Views } from '../../ports/views.ts';
import type { Csrf } from '../middleware/csrf.ts';
import { formBody } from '../middleware/form-body.ts';
import { fieldErrors } from './field-errors.ts';
import type { LinkState, LinkStates } from './link-state.ts';
import { lengthCheck } from '../password-length-check.ts';

/** One browser's use of a reset link: what it proved, and what it changed once done. */
export interface ResetState extends LinkState {
  /** The second factor this browser proved for the link; null until then. */
  provenWith: string | null;
  done: { appPasswordsRevoked: boolean } | null;
}

export interface PasswordResetDeps {
  resets: PasswordResets;
  states: LinkStates<ResetState>;
  methods: Pick<Methods, 'hasAny'>;
  accounts: Pick<Accounts, 'passwordRulesFor'>;
  /** Link requests, counted per address and per client address whether or not the address is known. */
  requestThrottle: Throttle;
  /** Where a reset that began on a sign-in page returns to. */
  provider: Provider;
  views: Views;
  csrf: Csrf;
  clock: Clock;
  secureCookies: boolean;
  maxPasswordLength: number;
}

/** The interaction a reset began from (an oidc-provider uid), for the way back to its sign-in. */
const UID = /^[A-Za-z0-9_-]{10,64}$/;
const fromCookie = (secure: boolean) => (secure ? '__Host-twofold.reset-from' : 'twofold.reset-from');

const forgotForm = z.object({ email: emailSchema });
const newPasswordForm = (max: number) =>
  z.object({
    password: z
      .string()
      .min(1, 'Choose a new password.')
      .max(max * 4, 'That password is too long.'),
    revokeAppPasswords: z.literal('on').optional(),
  });

/**
 * "Forgot password?": the request for a link (answered alike for every address), the link itself
 * (moved out of the URL at once), and the new password, which a person with a second factor reaches
 * only after proving it at /reset-password/verify. No session exists at any point: the person signs
 * in afterwards like any other time.
 */
export function passwordResetRoutes(deps: PasswordResetDeps): Router {
  const { views, csrf, states } = deps;
  const router = new Router();
  const schema = newPasswordForm(deps.maxPasswordLength);

  const page = async (ctx: Context, view: string, title: string, model: Record<string, unknown> = {}) => {
    ctx.type = 'html';
    ctx.set('cache-control', 'no-store');
    ctx.body = await views.render(view, { title, csrfToken: csrf.tokenFor(ctx), ...model });
  };
  const forgotPage = (ctx: Context, model: { email: string; from: string | null; errors: Record<string, string> }) =>
    page(ctx, 'reset/forgot', 'Forgot your password?', { alert: null, waitSeconds: 0, ...model });
  const invalidPage = (ctx: Context) => {
    ctx.status = 410;
    return page(ctx, 'reset/invalid', 'This link cannot be used');
  };
  const fromOf = (value: unknown) => (typeof value === 'string' && UID.test(value) ? value : null);
  const secondsLeft = (expiresAt: number) => Math.max(1, Math.ceil((expiresAt - deps.clock.now()) / 1000));

  /** Back to the application's sign-in where the reset began, while it can still go on; else the account. */
  async function signInTarget(ctx: Context) {
    const uid = fromOf(ctx.cookies.get(fromCookie(deps.secureCookies)));
    const interaction = uid ? await deps.provider.Interaction.find(uid) : undefined;
    if (interaction && !interaction.result && interaction.prompt.name === 'login') {
      const client = await deps.provider.Client.find(String(interaction.params.client_id));
      return { href: `/interaction/${uid}`, label: `Sign in to ${client?.clientName ?? 'the application'}` };
    }
    return { href: '/account', label: 'Sign in to your account' };
  }

  /** This browser's use of a live link, or undefined (no cookie, link used, expired or replaced). */
  async function linkInUse(ctx: Context) {
    const loaded = await states.load(ctx);
    const link = loaded && !loaded.state.done ? await deps.resets.find(loaded.state.tokenHash) : undefined;
    return loaded && link ? { state: loaded.state, link } : undefined;
  }
  type InUse = NonNullable<Awaited<ReturnType<typeof linkInUse>>>;

  /** NIST SP 800-63B §4.2.1: a recovery of one factor must not bypass the other. */
  const mustProve = async ({ state, link }: InUse) =>
    state.provenWith === null && (await deps.methods.hasAny(personOf(link.account)));

  const formPage = (ctx: Context, { link }: InUse, errors: Record<string, string>) =>
    page(ctx, 'reset/new-password', 'Choose a new password', {
      email: link.account.user.email,
      ...lengthCheck(deps.accounts.passwordRulesFor(link.account.organization).minLength),
      errors,
    });

  router.get('/forgot-password', (ctx) => forgotPage(ctx, { email: '', from: fromOf(ctx.query.from), errors: {} }));

  router.post('/forgot-password', formBody(), csrf.verify, async (ctx) => {
    const body = ctx.request.body as Record<string, unknown>;
    const from = fromOf(body.from);
    const typed = typeof body.email === 'string' ? body.email.slice(0, 254) : '';
    const parsed = forgotForm.safeParse(body);
    if (!parsed.success) {
      ctx.status = 400;
      return forgotPage(ctx, { email: typed, from, errors: fieldErrors(parsed.error) });
    }
    // Counted per address whether or not it exists, so a refusal says nothing about an account.
    const keys = { account: normalizeEmail(parsed.data.email), ip: ctx.ip };
    const attempt = await deps.requestThrottle.attempt(keys, async () => ({ ok: false }));
    if (attempt.status !== 'checked') {
      const seconds = attempt.status === 'wait' ? attempt.seconds : 1;
      ctx.status = 429;
      ctx.set('Retry-After', String(seconds));
      // Worded like the other throttle waits; the page counts the wait down (views/partials/wait-countdown).
      const alert = `Too many requests for a link. No link was sent: wait ${secondsText(seconds)}, then ask again.`;
      return page(ctx, 'reset/forgot', 'Forgot your password?', {
        email: typed,
        from,
        errors: {},
        alert,
        waitSeconds: seconds,
      });
    }
    if (from) {
      const options = {
        httpOnly: true,
        sameSite: 'lax',
        secure: deps.secureCookies,
        path: '/',
        overwrite: true,
      } as const;
      ctx.cookies.set(fromCookie(deps.secureCookies), from, { ...options, maxAge: RESET_LINK_MINUTES * 60_000 });
    }
    // The lookup, the link and the email happen after the answer: its content and timing are the
    // same for every address (OWASP Forgot Password Cheat Sheet).
    const log = ctx.state.log as Logger;
    void deps.resets
      .request(parsed.data.email)
      .catch((error: unknown) => log.error({ err: error }, 'reset request failed'));
    await page(ctx, 'reset/sent', 'Check your email', { email: parsed.data.email, from, minutes: RESET_LINK_MINUTES });
  });

  router.get('/reset-password/:secret', async (ctx) => {
    const tokenHash = deps.resets.hashOf(String(ctx.params.secret));
    const link = tokenHash ? await deps.resets.find(tokenHash) : undefined;
    if (!tokenHash || !link) return invalidPage(ctx);
    const state: ResetState = { tokenHash, provenWith: null, done: null };
    await states.begin(ctx, state, secondsLeft(link.record.expiresAt));
    ctx.status = 303;
    ctx.redirect('/reset-password');
  });

  router.get('/reset-password', async (ctx) => {
    const loaded = await states.load(ctx);
    if (loaded?.state.done) {
      const { done } = loaded.state;
      return page(ctx, 'reset/done', 'Your password was changed', { ...done, next: await signInTarget(ctx) });
    }
    const use = await linkInUse(ctx);
    if (!use) return invalidPage(ctx);
    if (await mustProve(use)) return void ctx.redirect('/reset-password/verify');
    await formPage(ctx, use, {});
  });

  router.post('/reset-password', formBody(), csrf.verify, async (ctx) => {
    const use = await linkInUse(ctx);
    if (!use) return invalidPage(ctx);
    ctx.status = 303;
    if (await mustProve(use)) return ctx.redirect('/reset-password/verify');
    const parsed = schema.safeParse(ctx.request.body);
    if (!parsed.success) {
      ctx.status = 400;
      return formPage(ctx, use, fieldErrors(parsed.error));
    }
    const revokeAppPasswords = parsed.data.revokeAppPasswords === 'on';
    try {
      await deps.resets.complete(use.state.tokenHash, parsed.data.password, {
        revokeAppPasswords,
        provenWith: use.state.provenWith,
        ip: ctx.ip,
      });
    } catch (error) {
      if (!(error instanceof AppError) || error.status >= 500) throw error;
      if (error.code === 'link_invalid') return invalidPage(ctx);
      ctx.status = error.status;
      return formPage(ctx, use, error.fields);
    }
    const done = { appPasswordsRevoked: revokeAppPasswords };
    await states.save(ctx, { ...use.state, done }, 600);
    ctx.redirect('/reset-password');
  });

  return router;
}
