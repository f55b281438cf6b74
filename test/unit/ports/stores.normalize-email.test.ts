import { describe, expect, it } from 'vitest';

import { normalizeEmail } from '../../../src/ports/stores.ts';

// Issue 8: one address, one account, whatever Unicode form or case it is typed in.
describe('normalizeEmail', () => {
  it.each([
    ['fullwidth letters', 'ａｄａ@example.com', 'ada@example.com'],
    ['a fullwidth domain and full stop', 'ada@ｅｘａｍｐｌｅ．ｃｏｍ', 'ada@example.com'],
    ['fullwidth capitals', 'ＡＤＡ@ＥＸＡＭＰＬＥ.ＣＯＭ', 'ada@example.com'],
    ['a ligature', 'ﬁnn@example.com', 'finn@example.com'],
    ['circled and mathematical letters', 'ⓐ𝐝𝒂@example.com', 'ada@example.com'],
    ['a decomposed accent', 'jose\u0301@example.com', 'josé@example.com'],
    ['the Kelvin and Ångström signs', '\u212Aim\u212B@example.com', 'kimå@example.com'],
    ['upper case', 'Ada.Lovelace@Example.COM', 'ada.lovelace@example.com'],
    ['Greek capitals', 'ΔΗΜΗΤΡΑ@example.gr', 'δημητρα@example.gr'],
    ['surrounding and ideographic spaces', '\u3000 ada@example.com\u00A0', 'ada@example.com'],
  ])('maps %s to one key', (_, typed, key) => {
    expect(normalizeEmail(typed)).toBe(key);
  });

  it('keeps ß apart from ss, as IDNA2008 keeps faß.de apart from fass.de, but folds capital ẞ into ß', () => {
    expect(normalizeEmail('straße@faß.de')).not.toBe(normalizeEmail('strasse@fass.de'));
    expect(normalizeEmail('STRAẞE@FAẞ.DE')).toBe('straße@faß.de');
  });

  it('gives a key that normalizes to itself, even where lowercasing makes a composable pair', () => {
    // H + combining macron below: lowercased it composes into ẖ (U+1E96), which NFKC then yields.
    for (const typed of ['H\u0331@example.com', 'ａｄａ@example.com', 'İstanbul@example.com']) {
      const key = normalizeEmail(typed);
      expect(normalizeEmail(key)).toBe(key);
    }
    expect(normalizeEmail('H\u0331@example.com')).toBe('\u1E96@example.com');
  });
});
