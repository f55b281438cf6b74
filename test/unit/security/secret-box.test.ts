import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';

import { createSecretBox } from '../../../src/security/secret-box.ts';

const box = createSecretBox(randomBytes(32));

/** Replaces part `index` (0 version, 1 nonce, 2 tag, 3 ciphertext) of a sealed value. */
function withPart(sealed: string, index: number, change: (bytes: Buffer) => Buffer): string {
  const parts = sealed.split('.');
  parts[index] = change(Buffer.from(parts[index]!, 'base64url')).toString('base64url');
  return parts.join('.');
}

const flipFirstBit = (bytes: Buffer) => {
  const copy = Buffer.from(bytes);
  copy[0] = copy[0]! ^ 1;
  return copy;
};

describe('secret box (AES-256-GCM)', () => {
  it('opens what it sealed', () => {
    for (const plaintext of ['JBSWY3DPEHPK3PXP', '', 'ünïcødé 🔐 secret', 'x'.repeat(10_000)]) {
      expect(box.open(box.seal(plaintext))).toBe(plaintext);
    }
  });

  it('does not contain the plaintext', () => {
    const sealed = box.seal('JBSWY3DPEHPK3PXP');
    expect(sealed).not.toContain('JBSWY3DPEHPK3PXP');
    expect(sealed).not.toContain(Buffer.from('JBSWY3DPEHPK3PXP').toString('base64url'));
  });

  it('uses a fresh nonce per seal, so sealing the same value twice differs', () => {
    const a = box.seal('same secret');
    const b = box.seal('same secret');
    expect(a).not.toBe(b);
    expect(a.split('.')[1]).not.toBe(b.split('.')[1]);
  });

  it('writes the versioned format v1.nonce.tag.ciphertext with a 96-bit nonce and 128-bit tag', () => {
    const [version, nonce, tag, ciphertext, ...rest] = box.seal('abc').split('.');
    expect(version).toBe('v1');
    expect(Buffer.from(nonce!, 'base64url')).toHaveLength(12);
    expect(Buffer.from(tag!, 'base64url')).toHaveLength(16);
    expect(Buffer.from(ciphertext!, 'base64url')).toHaveLength(3);
    expect(rest).toEqual([]);
  });

  it('detects a tampered ciphertext, tag or nonce', () => {
    const sealed = box.seal('transfer 100 to alice');
    for (const index of [1, 2, 3]) {
      expect(() => box.open(withPart(sealed, index, flipFirstBit))).toThrow();
    }
  });

  it('refuses a value sealed under another key', () => {
    const other = createSecretBox(randomBytes(32));
    expect(() => other.open(box.seal('secret'))).toThrow();
  });

  it('refuses values that are not sealed', () => {
    for (const value of ['', 'plain text', 'v2.a.b.c', 'v1.a.b', 'v1..tag.ct']) {
      expect(() => box.open(value)).toThrow();
    }
  });

  it('refuses a key that is not 32 bytes', () => {
    expect(() => createSecretBox(randomBytes(16))).toThrow(/32 bytes/);
    expect(() => createSecretBox(randomBytes(33))).toThrow(/32 bytes/);
  });

  // Known bug (reported to the lead): open() passes the stored tag to setAuthTag without fixing
  // authTagLength, so Node accepts a tag cut to 4 bytes (DEP0182), and forging a value needs only
  // ~2^32 guesses instead of 2^128. Flip to `it` once createDecipheriv gets { authTagLength: 16 }.
  it('refuses a truncated authentication tag', () => {
    const sealed = box.seal('secret');
    expect(() => box.open(withPart(sealed, 2, (tag) => tag.subarray(0, 4)))).toThrow();
  });
});
