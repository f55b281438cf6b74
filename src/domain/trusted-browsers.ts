import type { Person } from '../factors/factor.ts';
import type { Clock } from '../ports/clock.ts';
import type { TrustedBrowser, TrustedBrowserStore } from '../ports/factor-stores.ts';
import type { Random } from '../ports/random.ts';
import type { KeyedHash } from '../ports/keyed-hash.ts';

/**
 * "Trust this browser": a random token in a cookie, stored as a keyed hash, that lets the person
 * skip the second factor at sign-in for the organization's number of days. Listed and revocable.
 */
export interface TrustedBrowsers {
  /** Returns the token for the cookie and its lifetime. */
  trust(person: Person, days: number, label: string): Promise<{ token: string; maxAgeMs: number }>;
  isTrusted(person: Person, token: string): Promise<boolean>;
  list(person: Person): Promise<TrustedBrowser[]>;
  revoke(person: Person, id: string): Promise<boolean>;
}

const PURPOSE = 'trusted-browser';

/** A short, human label for the browser from its User-Agent ("Chrome on Linux"). */
export function describeBrowser(userAgent: string): string {
  const browser = /Edg\//.test(userAgent)
    ? 'Edge'
    : /Firefox\//.test(userAgent)
      ? 'Firefox'
      : /Chrome\//.test(userAgent)
        ? 'Chrome'
        : /Safari\//.test(userAgent)
          ? 'Safari'
          : 'A browser';
  const os = /Android/.test(userAgent)
    ? 'Android'
    : /iPhone|iPad/.test(userAgent)
      ? 'iOS'
      : /Mac OS X/.test(userAgent)
        ? 'macOS'
        : /Windows/.test(userAgent)
          ? 'Windows'
          : /Linux/.test(userAgent)
            ? 'Linux'
            : null;
  return os ? `${browser} on ${os}` : browser;
}

export function createTrustedBrowsers(deps: {
  store: TrustedBrowserStore;
  keyedHash: KeyedHash;
  clock: Clock;
  random: Random;
}): TrustedBrowsers {
  const digest = (person: Person, token: string) => deps.keyedHash.digest(PURPOSE, `${person.userId}:${token}`);
  return {
    async trust(person, days, label) {
      const token = deps.random.token(32);
      const now = deps.clock.now();
      const maxAgeMs = days * 86_400_000;
      await deps.store.insertTrustedBrowser({
        id: deps.random.uuid(),
        orgId: person.orgId,
        userId: person.userId,
        tokenHash: digest(person, token),
        label: label.slice(0, 200),
        createdAt: now,
        expiresAt: now + maxAgeMs,
        lastUsedAt: now,
      });
      return { token, maxAgeMs };
    },
    async isTrusted(person, token) {
      if (!/^[A-Za-z0-9_-]{43}$/.test(token)) return false;
      const found = await deps.store.findTrustedBrowser(
        person.orgId,
        person.userId,
        digest(person, token),
        deps.clock.now(),
      );
      if (found) await deps.store.touchTrustedBrowser(person.orgId, person.userId, found.id, deps.clock.now());
      return found !== undefined;
    },
    list: (person) => deps.store.listTrustedBrowsers(person.orgId, person.userId, deps.clock.now()),
    revoke: (person, id) => deps.store.deleteTrustedBrowser(person.orgId, person.userId, id),
  };
}
