import type { Clock } from '../ports/clock.ts';
import { ACR_MFA, acrFor, amrFor } from './authentication.ts';
import type { EphemeralStore } from '../ports/ephemeral-store.ts';
import type { Random } from '../ports/random.ts';
import type { KeyedHash } from '../ports/keyed-hash.ts';
import { secondsLeft, type SessionLifetime } from './session-lifetime.ts';

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
  /** Epoch seconds of the last recorded activity (to the minute: see `touch`). */
  activeAt: number;
  /** The organization's session limits when the session was last used (requireAccount checks the current ones). */
  lifetime: SessionLifetime;
}

export interface AccountSessions {
  /** Returns the cookie value for a new session. */
  create(session: Omit<AccountSession, 'createdAt' | 'id' | 'activeAt'>): Promise<string>;
  load(token: string | undefined): Promise<AccountSession | undefined>;
  /** Records activity now: the idle limit starts again (NIST SP 800-63B §4.2.3). */
  touch(token: string | undefined, session: AccountSession, lifetime: SessionLifetime): Promise<void>;
  /**
   * Records a factor the person just proved in this session (by enrolling it: the code or key
   * answered). With the password of the same fresh sign-in, the session is now multi-factor.
   */
  addFactor(token: string | undefined, amr: string[]): Promise<void>;
  destroy(token: string | undefined): Promise<void>;
}

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

  const now = () => Math.floor(deps.clock.now() / 1000);
  const load = async (token: string | undefined) =>
    wellFormed(token) ? deps.ephemeral.get<AccountSession>(key(token)) : undefined;
  /** Kept in the store until the session would end unused; requireAccount checks the limits itself. */
  const store = (token: string, session: AccountSession) =>
    deps.ephemeral.put(key(token), session, Math.max(1, secondsLeft(session.lifetime, session.authTime, now())));

  return {
    async create(session) {
      const token = deps.random.token(32);
      await store(token, { ...session, id: deps.random.uuid(), createdAt: deps.clock.now(), activeAt: now() });
      return token;
    },
    load,
    async touch(token, session, lifetime) {
      if (wellFormed(token)) await store(token, { ...session, activeAt: now(), lifetime });
    },
    async addFactor(token, amr) {
      const session = await load(token);
      if (!session || !wellFormed(token)) return;
      const methods = [
        { method: 'session', amr: session.amr, at: session.authTime },
        { method: 'enrolled', amr, at: session.authTime },
      ];
      await store(token, { ...session, acr: acrFor(methods), amr: amrFor(methods) });
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
