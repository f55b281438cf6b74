/**
 * Cancelling the account pages' own sign-in. The provider answers the account client as it answers
 * every relying party (OIDC Core §3.1.2.6, `error=access_denied`); only this first-party callback
 * turns that answer into a way back to where the person was, instead of an error page.
 */
import type { Context } from 'koa';

import type { AccountSessions } from '../../domain/account-sessions.ts';
import type { EphemeralStore } from '../../ports/ephemeral-store.ts';
import type { Views } from '../../ports/views.ts';
import { ACCOUNT_COOKIE, RESUME_COOKIE, cookieName, cookieOptions } from './account-cookies.ts';

/** The query that asks an account page for the "sign-in was cancelled" notice (a fixed text, never echoed). */
export const CANCELLED_QUERY = 'signin=cancelled';

export const CANCELLED_NOTICE = 'Sign-in was cancelled. Nothing was changed.';

/**
 * The page a step-up's action belongs to: a person's admin page for any change to that person,
 * otherwise its section (`/account/two-factor/remove` → `/account/two-factor`). A page that
 * itself asks for the step-up (`/account/password`) would only ask again: then one level up.
 */
export function pageOfAction(path: string, pageAsksToo: boolean): string {
  const person = /^\/admin\/people\/[A-Za-z0-9_-]+/.exec(path);
  if (person) return person[0];
  const section = /^\/(account|admin)\/[A-Za-z0-9_-]+/.exec(path);
  if (!section) return '/account';
  return pageAsksToo && section[0] === path ? `/${section[1]}` : section[0];
}

/** The same page with the notice asked for. */
export function withCancelledNotice(page: string): string {
  return `${page}?${CANCELLED_QUERY}`;
}

export interface CancelledSignIn {
  returnTo: string;
  resume: string | null;
  fresh: boolean;
}

export interface SignInCancelDeps {
  sessions: Pick<AccountSessions, 'load'>;
  ephemeral: Pick<EphemeralStore, 'take'>;
  views: Views;
  secureCookies: boolean;
  /** Our own account pages only: anything else is My Account. */
  safeReturnTo(value: unknown): string;
  /** The path of the change a step-up was for, read with this browser's own key (null if none is its). */
  stepUpAction(ctx: Context, login: CancelledSignIn, userId: string): Promise<string | null>;
}

/**
 * Back to the page the person was on, with a calm notice. A change that waited for the step-up is
 * dropped (nothing was changed, nor will be). Someone without an account session has no page to go
 * back to (each would ask them to sign in again): a page of its own says so, with a way to sign in
 * (a redirect, so that reloading it does not replay the spent callback).
 */
export function createSignInCancel(deps: SignInCancelDeps) {
  const cancel = async (ctx: Context, login: CancelledSignIn): Promise<void> => {
    const account = await deps.sessions.load(ctx.cookies.get(cookieName(ACCOUNT_COOKIE, deps.secureCookies)));
    ctx.status = 303;
    if (!account) return ctx.redirect(`/account/sign-in-cancelled?return_to=${encodeURIComponent(login.returnTo)}`);
    const action = login.fresh ? await deps.stepUpAction(ctx, login, account.userId) : null;
    if (login.resume && action) {
      await deps.ephemeral.take(`resume:${login.resume}`);
      ctx.cookies.set(cookieName(RESUME_COOKIE, deps.secureCookies), '', {
        ...cookieOptions(deps.secureCookies, 0),
        maxAge: 0,
      });
    }
    const page = login.fresh ? pageOfAction(action ?? login.returnTo, !login.resume) : login.returnTo;
    ctx.redirect(withCancelledNotice(page));
  };
  const page = async (ctx: Context): Promise<void> => {
    ctx.type = 'html';
    ctx.body = await deps.views.render('account/sign-in-cancelled', {
      title: 'Sign-in cancelled',
      signIn: `/account/login?return_to=${encodeURIComponent(deps.safeReturnTo(ctx.query.return_to))}`,
    });
  };
  return { cancel, page };
}
