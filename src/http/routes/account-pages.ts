import Router from '@koa/router';
import type { Context, Middleware } from 'koa';
import { z } from 'zod';

import type { Accounts } from '../../domain/accounts.ts';
import type { AccountSecurity } from '../../domain/account-security.ts';
import type { AppPasswords } from '../../domain/app-passwords.ts';
import { AppError } from '../../domain/errors.ts';
import type { SessionIndex } from '../../oidc/session-index.ts';
import type { Csrf } from '../middleware/csrf.ts';
import { formBody } from '../middleware/form-body.ts';
import type { Views } from '../../ports/views.ts';
import { createAccountRenderer, loadAccountContext } from './account-context.ts';
import { EVENT_TEXT } from './event-text.ts';
import { sessionRows } from './account-session-rows.ts';
import { trustedBrowserRows } from './trusted-browser-rows.ts';
import { httpErrors } from '../error-codes.ts';
import { lengthCheck } from '../password-length-check.ts';

export interface AccountPagesDeps {
  accounts: Accounts;
  security: AccountSecurity;
  appPasswords: Pick<AppPasswords, 'revokeAll'>;
  sessionIndex: SessionIndex;
  views: Views;
  csrf: Csrf;
  requireAccount: Middleware;
  requireFreshAuth: Middleware;
  maxPasswordLength: number;
  /** The app's name as people know it (its client_name), for the sessions page. */
  clientName(clientId: string): Promise<string>;
  /** The asking browser's trusted-browser token, if it holds one (its row says "This browser"). */
  trustToken(ctx: Context): string | undefined;
}

const passwordForm = (max: number) =>
  z.object({
    current: z
      .string()
      .max(max * 4, 'That password is too long.')
      .default(''),
    password: z
      .string()
      .max(max * 4, 'That password is too long.')
      .default(''),
    signOutOthers: z.literal('on').optional(),
    revokeAppPasswords: z.literal('on').optional(),
  });

/** The security overview, password change and signed-in sessions. */
export function accountPageRoutes(deps: AccountPagesDeps): Router {
  const { views, csrf } = deps;
  const router = new Router({ prefix: '/account' });
  const schema = passwordForm(deps.maxPasswordLength);

  const current = (ctx: Context) => loadAccountContext(ctx, deps.accounts);
  const render = createAccountRenderer(views, csrf);

  router.get('/', deps.requireAccount, async (ctx) => {
    const { account, found, person } = await current(ctx);
    const sessions = await deps.sessionIndex.list(account.userId);
    const overview = await deps.security.overview(person, found.organization);
    await render(ctx, 'account/overview', 'Your account', {
      nav: 'overview',
      name: found.user.name ?? found.user.email,
      email: found.user.email,
      orgName: found.organization.name,
      overview,
      events: overview.events.map((e) => ({ text: EVENT_TEXT[e.type] ?? e.type, at: e.at, ip: e.ip })),
      sessionCount: sessions.length,
      isAdmin: found.user.role === 'admin',
    });
  });

  const passwordPage = async (ctx: Context, errors: Record<string, string>, notice: string | null) => {
    const { found } = await current(ctx);
    await render(ctx, 'account/password', 'Password', {
      nav: 'password',
      errors,
      notice,
      ...lengthCheck(deps.accounts.passwordRulesFor(found.organization).minLength),
    });
  };

  // Re-authentication comes before the form, so that a typed password never has to wait for it.
  router.get('/password', deps.requireAccount, deps.requireFreshAuth, (ctx) =>
    passwordPage(ctx, {}, ctx.query.done === '1' ? 'Your password was changed.' : null),
  );

  router.post('/password', formBody(), csrf.verify, deps.requireAccount, deps.requireFreshAuth, async (ctx) => {
    const { account, found, person } = await current(ctx);
    const parsed = schema.safeParse(ctx.request.body);
    if (!parsed.success) {
      ctx.status = 400;
      return passwordPage(
        ctx,
        Object.fromEntries(parsed.error.issues.map((i) => [String(i.path[0]), i.message])),
        null,
      );
    }
    try {
      await deps.accounts.changePassword(found, {
        current: parsed.data.current,
        password: parsed.data.password,
        ip: ctx.ip,
      });
    } catch (error) {
      if (!(error instanceof AppError) || error.status >= 500) throw error;
      ctx.status = error.status;
      return passwordPage(ctx, error.fields, null);
    }
    // A new password is often the answer to a leak: no browser keeps skipping the second step.
    await deps.security.revokeAllTrustedBrowsers(person);
    if (parsed.data.signOutOthers === 'on')
      await deps.sessionIndex.signOutAll(account.userId, account.providerSessionUid);
    // App passwords survive a password change unless the person ends them too (a leak of both).
    if (parsed.data.revokeAppPasswords === 'on') await deps.appPasswords.revokeAll(person, ctx.ip);
    ctx.status = 303;
    ctx.redirect('/account/password?done=1');
  });

  router.get('/sessions', deps.requireAccount, async (ctx) => {
    const { account, person, found } = await current(ctx);
    await render(ctx, 'account/sessions', 'Where you are signed in', {
      nav: 'sessions',
      sessions: await sessionRows(
        await deps.sessionIndex.list(account.userId),
        account.providerSessionUid,
        deps.clientName,
      ),
      trustedBrowsers: trustedBrowserRows(
        (await deps.security.overview(person, found.organization, deps.trustToken(ctx))).trustedBrowsers,
      ),
      notice: typeof ctx.query.done === 'string' ? 'Signed out.' : null,
    });
  });

  router.post('/sessions/revoke', formBody(), csrf.verify, deps.requireAccount, async (ctx) => {
    const { account } = await current(ctx);
    const uid = (ctx.request.body as { uid?: unknown }).uid;
    if (typeof uid !== 'string' || uid.length > 64 || !(await deps.sessionIndex.signOut(account.userId, uid))) {
      throw httpErrors.raise('unknown_session');
    }
    ctx.status = 303;
    ctx.redirect('/account/sessions?done=one');
  });

  router.post('/sessions/revoke-all', formBody(), csrf.verify, deps.requireAccount, async (ctx) => {
    const { account } = await current(ctx);
    await deps.sessionIndex.signOutAll(account.userId, account.providerSessionUid);
    ctx.status = 303;
    ctx.redirect('/account/sessions?done=all');
  });

  return router;
}
