import type { Clock } from '../ports/clock.ts';
import { ACR_MFA, acrFor, amrFor } from './authentication.ts';
import type { EphemeralStore } from '../ports/ephemeral-store.ts';
import type { Random } from '../ports/random.ts';
import type { KeyedHash } from '../ports/keyed-hash.ts';

/**
 * The account pages' own sign-in, made from an authorization code the provider issued to the
 * first-party account client. `authTime` is the OIDC auth_time: step-up freshness is measured
 * against it, never against when this cookie was set.
 */
export interface AccountSession {
  /** Identifies this session (not the cookie value): what is shown once is shown to it alone. */
  id: string;
  userId: string;
  orgId: string;
  email: string;
  /** Epoch seconds of the last authentication (OIDC auth_time). */
  authTime: number;
  acr: string;
  amr: string[];
  /** The provider session this sign-in came from (kept when signing out everywhere else). */
  providerSessionUid: string | null;
  createdAt: number;
}

export interface AccountSessions {
  /** Returns the cookie value for a new session. */
  create(session: Omit<AccountSession, 'createdAt' | 'id'>): Promise<string>;
  load(token: string | undefined): Promise<AccountSession | undefined>;
  /**
   * Records a factor the person just proved in this session (by enrolling it: the code or key
   * answered). With the password of the same fresh sign-in, the session is now multi-factor.
   */
  addFactor(token: string | undefined, amr: string[]): Promise<void>;
  destroy(token: string | undefined): Promise<void>;
}

/** Idle lifetime of an account-pages session; re-authentication still follows auth_time. */
const TTL_SECONDS = 60 * 60;
const PURPOSE = 'account-session';

export function createAccountSessions(deps: {
  ephemeral: EphemeralStore;
  keyedHash: KeyedHash;
  random: Random;
  clock: Clock;
}): AccountSessions {
  const key = (token: string) => `account:${deps.keyedHash.digest(PURPOSE, token)}`;
  const wellFormed = (token: string | undefined): token is string =>
    typeof token === 'string' && /^[A-Za-z0-9_-]{43}$/.test(token);

  async function load(token: string | undefined): Promise<AccountSession | undefined> {
    if (!wellFormed(token)) return undefined;
    const session = await deps.ephemeral.get<AccountSession>(key(token));
    // Sliding idle expiry: each visit keeps the session for another hour.
    if (session) await deps.ephemeral.put(key(token), session, TTL_SECONDS);
    return session;
  }

  return {
    async create(session) {
      const token = deps.random.token(32);
      await deps.ephemeral.put(
        key(token),
        { ...session, id: deps.random.uuid(), createdAt: deps.clock.now() } satisfies AccountSession,
        TTL_SECONDS,
      );
      return token;
    },
    load,
    async addFactor(token, amr) {
      const session = await load(token);
      if (!session || !wellFormed(token)) return;
      const methods = [
        { method: 'session', amr: session.amr, at: session.authTime },
        { method: 'enrolled', amr, at: session.authTime },
      ];
      await deps.ephemeral.put(
        key(token),
        { ...session, acr: acrFor(methods), amr: amrFor(methods) } satisfies AccountSession,
        TTL_SECONDS,
      );
    },
    async destroy(token) {
      if (wellFormed(token)) await deps.ephemeral.delete(key(token));
    },
  };
}

/** Seconds since the person last authenticated, by the injected clock. */
export function secondsSinceAuth(session: Pick<AccountSession, 'authTime'>, clock: Clock): number {
  return Math.floor(clock.now() / 1000) - session.authTime;
}

/**
 * The step-up rule, for pages and API alike: an authentication no older than `maxAgeSeconds`
 * (OIDC max_age), which for a person with a second factor must also have used it (acr mfa).
 */
export function isFreshEnough(
  auth: { authTime: number; acr: string | undefined },
  hasSecondFactor: boolean,
  clock: Clock,
  maxAgeSeconds: number,
): boolean {
  return secondsSinceAuth(auth, clock) <= maxAgeSeconds && (!hasSecondFactor || auth.acr === ACR_MFA);
}
