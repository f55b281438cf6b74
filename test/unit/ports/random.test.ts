import { describe, expect, it } from 'vitest';

import { createCryptoRandom } from '../../../src/ports/random.ts';

describe('crypto random (pooled draws)', () => {
  const random = createCryptoRandom();

  it('hands out tokens of the asked entropy, never the same bytes twice across pool refills', () => {
    const tokens = Array.from({ length: 2000 }, () => random.token(12));
    expect(new Set(tokens).size).toBe(tokens.length);
    expect(tokens.every((t) => /^[A-Za-z0-9_-]{16}$/.test(t))).toBe(true);
    expect(random.token()).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  it('gives each caller bytes of its own: changing them changes no later draw', () => {
    const first = random.bytes(32);
    const copy = Buffer.from(first);
    first.fill(7);
    const second = random.bytes(32);
    expect(second.equals(Buffer.alloc(32, 7))).toBe(false);
    expect(copy.equals(Buffer.alloc(32))).toBe(false);
  });

  it('serves requests larger than its pool', () => {
    expect(random.bytes(10_000)).toHaveLength(10_000);
    expect(random.token(5_000)).toHaveLength(Math.ceil((5_000 * 4) / 3));
  });
});
