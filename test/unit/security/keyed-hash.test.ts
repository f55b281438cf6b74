import { describe, expect, it } from 'vitest';

import { createKeyedHash } from '../../../src/security/keyed-hash.ts';

const PEPPER = 'p'.repeat(32);
const hash = createKeyedHash(PEPPER);

describe('keyed hash (HMAC-SHA256)', () => {
  it('is stable: the same pepper, purpose and value give the same digest', () => {
    expect(hash.digest('setup', 'token-1')).toBe(hash.digest('setup', 'token-1'));
    expect(createKeyedHash(PEPPER).digest('setup', 'token-1')).toBe(hash.digest('setup', 'token-1'));
  });

  it('produces 64 lowercase hex characters', () => {
    expect(hash.digest('setup', 'token-1')).toMatch(/^[0-9a-f]{64}$/);
  });

  it('separates purposes: a digest for one purpose is useless for another', () => {
    const digest = hash.digest('recovery-code', '12345678');
    expect(hash.digest('app-password', '12345678')).not.toBe(digest);
    expect(hash.matches('app-password', '12345678', digest)).toBe(false);
  });

  it('does not let purpose and value run together', () => {
    expect(hash.digest('ab', 'c')).not.toBe(hash.digest('a', 'bc'));
  });

  it('depends on the pepper, so a stolen database alone cannot test guesses', () => {
    expect(createKeyedHash('q'.repeat(32)).digest('setup', 'token-1')).not.toBe(hash.digest('setup', 'token-1'));
  });

  it('matches the right value', () => {
    expect(hash.matches('setup', 'token-1', hash.digest('setup', 'token-1'))).toBe(true);
  });

  it('does not match a wrong value', () => {
    expect(hash.matches('setup', 'token-2', hash.digest('setup', 'token-1'))).toBe(false);
    expect(hash.matches('setup', '', hash.digest('setup', 'token-1'))).toBe(false);
  });

  it('answers false, without throwing, for a malformed digest', () => {
    const digest = hash.digest('setup', 'token-1');
    for (const stored of ['', 'not hex at all', digest.slice(0, 62), digest.slice(0, 63), `00${digest}`]) {
      expect(hash.matches('setup', 'token-1', stored)).toBe(false);
    }
  });

  // Known bug (reported to the lead): Buffer.from(stored, 'hex') silently stops at the first
  // non-hex character, so a stored digest followed by garbage still matches. Low risk (stored
  // digests are ours), but matches() should check the digest's shape before comparing.
  it('does not match a digest followed by garbage', () => {
    expect(hash.matches('setup', 'token-1', `${hash.digest('setup', 'token-1')}zz`)).toBe(false);
  });
});
