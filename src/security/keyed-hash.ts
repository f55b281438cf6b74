import { createHmac, createSecretKey, timingSafeEqual } from 'node:crypto';
import type { KeyedHash } from '../ports/keyed-hash.ts';

/** HMAC-SHA256 keyed by the deployment's pepper, with the purpose as a domain separator. */
export function createKeyedHash(pepper: string): KeyedHash {
  // Imported once (the same key bytes as the string's UTF-8): several digests run per request.
  const key = createSecretKey(Buffer.from(pepper, 'utf8'));
  const digest = (purpose: string, value: string) =>
    createHmac('sha256', key).update(purpose).update('\0').update(value).digest('hex');
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
