import type { Person } from '../factors/factor.ts';
import type { Clock } from '../ports/clock.ts';
import type { TrustedBrowser, TrustedBrowserStore } from '../ports/factor-stores.ts';
import type { Random } from '../ports/random.ts';
import type { KeyedHash } from '../ports/keyed-hash.ts';
import { deviceName } from './user-agent.ts';

/**
 * "Trust this browser": a random token in a cookie, stored as a keyed hash, that lets the person
 * skip the second factor at sign-in for the organization's number of days. Listed and revocable.
 */
export interface TrustedBrowsers {
  /**
   * Returns the token for the cookie and its lifetime. The browser is named from its User-Agent
   * with versions ("Chrome 128 on Windows 10"); it has not skipped a second step yet.
   */
  trust(person: Person, days: number, userAgent: string): Promise<{ token: string; maxAgeMs: number }>;
  /** Whether the token is a trusted browser of the person's; its use is recorded when it is. */
  isTrusted(person: Person, token: string): Promise<boolean>;
  /** The person's trusted browsers, newest first; the one holding `currentToken` marked `current`. */
  list(person: Person, currentToken?: string): Promise<TrustedBrowserEntry[]>;
  revoke(person: Person, id: string): Promise<boolean>;
}

/** A trusted browser as listed: whether it is the browser asking. */
export type TrustedBrowserEntry = TrustedBrowser & { current: boolean };

const PURPOSE = 'trusted-browser';
const TOKEN = /^[A-Za-z0-9_-]{43}$/;

export function createTrustedBrowsers(deps: {
  store: TrustedBrowserStore;
  keyedHash: KeyedHash;
  clock: Clock;
  random: Random;
}): TrustedBrowsers {
  const digest = (person: Person, token: string) => deps.keyedHash.digest(PURPOSE, `${person.userId}:${token}`);
  return {
    async trust(person, days, userAgent) {
      const token = deps.random.token(32);
      const now = deps.clock.now();
      const maxAgeMs = days * 86_400_000;
      await deps.store.insertTrustedBrowser({
        id: deps.random.uuid(),
        orgId: person.orgId,
        userId: person.userId,
        tokenHash: digest(person, token),
        label: deviceName(userAgent).slice(0, 200),
        createdAt: now,
        expiresAt: now + maxAgeMs,
        // "Last used" means a second step it skipped: none yet (the person just proved one).
        lastUsedAt: null,
      });
      return { token, maxAgeMs };
    },
    async isTrusted(person, token) {
      if (!TOKEN.test(token)) return false;
      const found = await deps.store.findTrustedBrowser(
        person.orgId,
        person.userId,
        digest(person, token),
        deps.clock.now(),
      );
      if (found) await deps.store.touchTrustedBrowser(person.orgId, person.userId, found.id, deps.clock.now());
      return found !== undefined;
    },
    async list(person, currentToken) {
      const current = currentToken && TOKEN.test(currentToken) ? digest(person, currentToken) : null;
      const browsers = await deps.store.listTrustedBrowsers(person.orgId, person.userId, deps.clock.now());
      return browsers.map((b) => ({ ...b, current: b.tokenHash === current }));
    },
    revoke: (person, id) => deps.store.deleteTrustedBrowser(person.orgId, person.userId, id),
  };
}
