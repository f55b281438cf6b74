import type Provider from 'oidc-provider';
import { interactionPolicy, type KoaContextWithOIDC } from 'oidc-provider';

import { isPastMaxAge, secondsLeft, type SessionLifetime } from '../domain/session-lifetime.ts';
import type { Clock } from '../ports/clock.ts';

const { Check } = interactionPolicy;

type Session = InstanceType<Provider['Session']>;

/**
 * The session limits of the request's account. findAccount attaches them to the account it
 * returns: oidc-provider loads the account of the session on every authorization request anyway,
 * so the limits cost no read of their own.
 */
function lifetimeOf(ctx: KoaContextWithOIDC, session: Session): SessionLifetime | undefined {
  const account = ctx.oidc?.account as { accountId?: string; sessionLifetime?: SessionLifetime } | undefined;
  return session.accountId !== undefined && account?.accountId === session.accountId
    ? account.sessionLifetime
    : undefined;
}

/**
 * ttl.Session: how long the stored session may now go unused. oidc-provider saves the session at
 * the end of every authorization request that loads it, so each save is activity: the idle limit
 * starts again, cut at the absolute limit (NIST SP 800-63B §4.2.3). The store drops the session
 * when that time is up, and with it every token bound to it (expiresWithSession): last activity is
 * read from the session's own expiry, with no read of its own per request.
 */
export function createSessionTtl(deps: { clock: Clock; anonymousSeconds: number }) {
  return (ctx: KoaContextWithOIDC, session: Session): number => {
    const lifetime = lifetimeOf(ctx, session);
    if (lifetime && session.loginTs !== undefined)
      return Math.max(1, secondsLeft(lifetime, session.loginTs, Math.floor(deps.clock.now() / 1000)));
    // Signed in, but the request did not load the account (a logout page): that is no activity.
    if (session.accountId !== undefined && typeof session.exp === 'number') return Math.max(1, session.remainingTTL);
    return deps.anonymousSeconds;
  };
}

/** Signs the request's session out, as a logout would, keeping only its uid for the sign-in that follows. */
function signOut(session: Session): void {
  for (const key of ['accountId', 'loginTs', 'acr', 'amr', 'transient', 'authorizations'] as const) {
    Reflect.deleteProperty(session, key);
  }
  // A new cookie value: the old one never opens this session again.
  session.resetIdentifier();
}

/**
 * The absolute limit on every authorization request, from the session's own loginTs. A session
 * past it is signed out here and now: its grants are forgotten, so tokens bound to it stop, and
 * the request asks for a new sign-in (prompt=none: login_required, OIDC Core §3.1.2.6). Stored
 * sessions normally expire before this (their lifetime is cut at the limit when saved); this
 * catches an organization that has just shortened the limit.
 */
export function sessionMaxAgeCheck(clock: Clock): interactionPolicy.Check {
  return new Check(
    'session_max_age',
    'The sign-in session has reached the longest time the organization allows',
    'login_required',
    (ctx: KoaContextWithOIDC) => {
      const { session } = ctx.oidc;
      const lifetime = session && lifetimeOf(ctx, session);
      if (!session || !lifetime || session.loginTs === undefined) return Check.NO_NEED_TO_PROMPT;
      if (!isPastMaxAge(lifetime, session.loginTs, Math.floor(clock.now() / 1000))) return Check.NO_NEED_TO_PROMPT;
      signOut(session);
      return Check.REQUEST_PROMPT;
    },
  );
}
