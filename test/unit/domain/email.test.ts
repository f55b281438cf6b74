import { describe, expect, it } from 'vitest';

import { emailSchema } from '../../../src/domain/email.ts';

describe('emailSchema', () => {
  it('accepts an address typed in fullwidth letters, as typed', () => {
    expect(emailSchema.parse(' ａｄａ@example.com ')).toBe('ａｄａ@example.com');
  });

  it('refuses an address whose comparison key outgrows the 254 characters of its column', () => {
    // U+FDFA is one character that NFKC spells out in 18.
    const address = `${'\uFDFA'.repeat(20)}@example.com`;
    expect(address.length).toBeLessThanOrEqual(254);
    expect(emailSchema.safeParse(address).error?.issues[0]?.message).toBe('That email address is too long.');
  });
});
