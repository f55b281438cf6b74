import type { Person } from '../factors/factor.ts';
import type { Clock } from '../ports/clock.ts';
import type { KeyedHash } from '../ports/keyed-hash.ts';
import type { PersonTokenStore } from '../ports/person-token-store.ts';
import type { Random } from '../ports/random.ts';
import type { Audit } from './audit.ts';
import { domainErrors } from './error-codes.ts';

/**
 * No 0/O, 1/I/L: the code is read aloud or off a screen and typed by a person. 12 symbols of 31
 * are about 59 bits: far beyond what a throttled guesser gets through in a code's 24 hours at most
 * (NIST SP 800-63B §5.1.1.2 asks 20 bits of a look-up secret; §5.2.2 asks rate limiting).
 */
const ALPHABET = 'ABCDEFGHJKMNPQRSTUVWXYZ23456789';
const LENGTH = 12;

/** How long a code may live, in minutes: a quarter of an hour to one day, an hour unless chosen. */
export const ACCESS_CODE_MINUTES = { min: 15, max: 24 * 60, standard: 60 } as const;

/** A code that waits to be used, as the console shows it: never the code itself. */
export interface LiveAccessCode {
  createdAt: number;
  expiresAt: number;
  /** The administrator who issued it. */
  createdBy: string | null;
}

/** How a typed code went: spent now, not a code at all, or not this person's live code. */
export type AccessCodeUse = 'used' | 'malformed' | 'refused';

/**
 * Temporary access codes (like Microsoft Entra's Temporary Access Pass): an administrator issues
 * one for a person who lost every method; it proves the person once, after their password, so
 * that they can enrol a new method. Only its keyed hash is stored (person_tokens, purpose
 * access_code); a newer code replaces a live one; a use spends it atomically.
 */
export interface AccessCodes {
  /** Issues a code for `minutes`; the plain code is returned to show once, to the administrator alone. */
  issue(person: Person, options: { minutes: number; actor: string }): Promise<{ code: string; expiresAt: number }>;
  /** Spends the person's live code, if any; says whether there was one. */
  revoke(person: Person, actor: string): Promise<boolean>;
  live(person: Person): Promise<LiveAccessCode | null>;
  /** Spends the person's live code when `typed` is it: of two concurrent uses, one succeeds. */
  use(person: Person, typed: string): Promise<AccessCodeUse>;
}

/** Spaces, hyphens and case do not matter when a code is typed back. */
const normalize = (typed: string) => typed.toUpperCase().replace(/[\s-]+/g, '');

export function createAccessCodes(deps: {
  tokens: PersonTokenStore;
  keyedHash: KeyedHash;
  clock: Clock;
  random: Random;
  audit: Audit;
}): AccessCodes {
  const { tokens, clock, audit } = deps;
  // Bound to the person: one person's code typed at another's sign-in matches nothing.
  const digest = (person: Person, code: string) =>
    deps.keyedHash.digest('access-code', `${person.orgId}:${person.userId}:${code}`);

  function newCode(): string {
    // Rejection sampling keeps every symbol equally likely (256 is not a multiple of 31).
    let code = '';
    while (code.length < LENGTH) {
      for (const byte of deps.random.bytes(LENGTH)) {
        if (byte < 248 && code.length < LENGTH) code += ALPHABET[byte % ALPHABET.length];
      }
    }
    return code;
  }

  const event = (type: string, person: Person, extra: { actor?: string; detail?: Record<string, unknown> }) =>
    audit.record({ type, orgId: person.orgId, userId: person.userId, ...extra });

  return {
    async issue(person, { minutes, actor }) {
      const { min, max } = ACCESS_CODE_MINUTES;
      if (!Number.isInteger(minutes) || minutes < min || minutes > max) {
        throw domainErrors.raise('invalid_access_code_lifetime');
      }
      const code = newCode();
      const now = clock.now();
      const expiresAt = now + minutes * 60_000;
      // One transaction spends the live code and stores the new one: only the newest works.
      await tokens.insertPersonToken({
        id: deps.random.uuid(),
        orgId: person.orgId,
        userId: person.userId,
        purpose: 'access_code',
        tokenHash: digest(person, code),
        createdAt: now,
        expiresAt,
        usedAt: null,
        createdBy: actor,
      });
      await event('access_code.issued', person, { actor, detail: { minutes, expiresAt } });
      return { code: `${code.slice(0, 4)}-${code.slice(4, 8)}-${code.slice(8)}`, expiresAt };
    },
    async revoke(person, actor) {
      const spent = await tokens.revokePersonTokens(person.orgId, person.userId, clock.now(), 'access_code');
      if (spent > 0) await event('access_code.revoked', person, { actor });
      return spent > 0;
    },
    async live(person) {
      const found = await tokens.findLivePersonTokenOf(person.orgId, person.userId, 'access_code', clock.now());
      return found ? { createdAt: found.createdAt, expiresAt: found.expiresAt, createdBy: found.createdBy } : null;
    },
    async use(person, typed) {
      const code = normalize(typed);
      if (code.length !== LENGTH || ![...code].every((c) => ALPHABET.includes(c))) return 'malformed';
      // UPDATE … WHERE used_at IS NULL AND expires_at > now RETURNING: spent once, never after it expired.
      const spent = await tokens.consumePersonToken('access_code', digest(person, code), clock.now());
      if (!spent) return 'refused';
      await event('access_code.used', person, { detail: { issuedBy: spent.createdBy } });
      return 'used';
    },
  };
}
