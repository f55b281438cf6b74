import type { Organization } from '../ports/stores.ts';

/**
 * How long a sign-in session lasts (NIST SP 800-63B §4.2.3, AAL2): the person authenticates again
 * (password and second factor) at the latest `maxSeconds` after they last did, whatever their
 * activity, and after `idleSeconds` without activity. The organization sets both.
 */
export interface SessionLifetime {
  maxSeconds: number;
  idleSeconds: number;
}

export const sessionLifetimeOf = (
  org: Pick<Organization, 'sessionMaxHours' | 'sessionIdleMinutes'>,
): SessionLifetime => ({
  maxSeconds: org.sessionMaxHours * 3600,
  idleSeconds: org.sessionIdleMinutes * 60,
});

/**
 * How long a session authenticated at `authTime` may now stay unused: the idle limit, cut short
 * by the absolute one (0 or less: it has ended). All times are epoch seconds.
 */
export function secondsLeft(lifetime: SessionLifetime, authTime: number, now: number): number {
  return Math.min(lifetime.idleSeconds, authTime + lifetime.maxSeconds - now);
}

/** The absolute limit alone: it holds whatever the activity. */
export function isPastMaxAge(lifetime: SessionLifetime, authTime: number, now: number): boolean {
  return now >= authTime + lifetime.maxSeconds;
}

/** A session last used at `activeAt` has ended by either limit (epoch seconds). */
export function hasEnded(lifetime: SessionLifetime, session: { authTime: number; activeAt: number }, now: number) {
  return isPastMaxAge(lifetime, session.authTime, now) || now >= session.activeAt + lifetime.idleSeconds;
}
