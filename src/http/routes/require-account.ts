import type { Middleware } from 'koa';
import type Provider from 'oidc-provider';

import type { AccountSession, AccountSessions } from '../../domain/account-sessions.ts';
import type { Accounts } from '../../domain/accounts.ts';
import { hasEnded, secondsLeft, sessionLifetimeOf } from '../../domain/session-lifetime.ts';
import type { Clock } from '../../ports/clock.ts';
import type { UserWithOrganization } from '../../ports/stores.ts';
import { ACCOUNT_COOKIE, cookieName } from './account-cookies.ts';

export interface RequireAccountDeps {
  provider: Provider;
  sessions: AccountSessions;
  accounts: Pick<Accounts, 'findAccount'>;
  clock: Clock;
  secureCookies: boolean;
}

/** Activity is written at most once a minute: fewer writes, and an idle limit never longer for it. */
const TOUCH_EVERY_SECONDS = 60;

/**
 * The account session behind the cookie while it lasts: within the organization's limits (NIST SP
 * 800-63B §4.2.3, the same as the sign-in session's) and while the provider session it came from
 * is still this person's. Using the account pages is activity on that sign-in session too.
 */
async function loadSignedIn(
  deps: RequireAccountDeps,
  token: string | undefined,
): Promise<{ session: AccountSession; found: UserWithOrganization } | undefined> {
  const session = await deps.sessions.load(token);
  if (!session) return undefined;
  const found = await deps.accounts.findAccount(session.orgId, session.userId);
  if (!found) {
    // Disabled (or gone) since: the person signs in again, where a disabled account hears why.
    await deps.sessions.destroy(token);
    return undefined;
  }
  const lifetime = sessionLifetimeOf(found.organization);
  const now = Math.floor(deps.clock.now() / 1000);
  const uid = session.providerSessionUid;
  const signIn = uid === null ? undefined : await deps.provider.Session.findByUid(uid);
  // A session made before lifetimes were recorded has no activity time: it ends, and the person signs in once more.
  const ended = typeof session.activeAt !== 'number' || hasEnded(lifetime, session, now);
  if (ended || (uid !== null && signIn?.accountId !== session.userId)) {
    await deps.sessions.destroy(token);
    return undefined;
  }
  if (now - session.activeAt >= TOUCH_EVERY_SECONDS) {
    await deps.sessions.touch(token, session, lifetime);
    if (signIn?.loginTs !== undefined) await signIn.save(Math.max(1, secondsLeft(lifetime, signIn.loginTs, now)));
  }
  return { session, found };
}

/**
 * Loads the account session; without one, the person signs in through the provider first. The
 * session lives only as long as the provider session it came from: signing out there (or being
 * signed out from another browser, or that session ending) ends it here too.
 */
export function requireAccount(deps: RequireAccountDeps): Middleware {
  return async (ctx, next) => {
    const token = ctx.cookies.get(cookieName(ACCOUNT_COOKIE, deps.secureCookies));
    const signedIn = await loadSignedIn(deps, token);
    if (!signedIn) {
      ctx.status = 303;
      return ctx.redirect(`/account/login?return_to=${encodeURIComponent(ctx.path)}`);
    }
    ctx.state.account = signedIn.session;
    ctx.state.accountToken = token;
    ctx.state.accountFound = signedIn.found;
    await next();
  };
}
