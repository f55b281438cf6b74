import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * HMAC-SHA256 under the deployment's pepper, for high-entropy secrets that need a fast lookup
 * (setup tokens, one-time codes, app passwords): a stolen database alone cannot test guesses.
 */
export interface KeyedHash {
  digest(purpose: string, value: string): string;
  /** Constant-time comparison of a value against a stored digest. */
  matches(purpose: string, value: string, digest: string): boolean;
}

export function createKeyedHash(pepper: string): KeyedHash {
  const digest = (purpose: string, value: string) =>
    createHmac('sha256', pepper).update(purpose).update('\0').update(value).digest('hex');
  return {
    digest,
    matches(purpose, value, stored) {
      if (!/^[0-9a-f]{64}$/.test(stored)) return false;
      const a = Buffer.from(digest(purpose, value), 'hex');
      const b = Buffer.from(stored, 'hex');
      return a.length === b.length && timingSafeEqual(a, b);
    },
  };
}
