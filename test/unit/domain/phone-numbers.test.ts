import { describe, expect, it } from 'vitest';

import {
  COUNTRY_OPTIONS,
  PHONE_HINT,
  countrySchema,
  maskPhoneNumber,
  parsePhoneNumber,
  phoneInstruction,
} from '../../../src/domain/phone-numbers.ts';

const accepted = (text: string, country: string | null) => {
  const parsed = parsePhoneNumber(text, country);
  if (!parsed.ok) throw new Error(`refused ${JSON.stringify(text)} in ${country}: ${parsed.message}`);
  return parsed.e164;
};

/** Issue 8: phone numbers read with libphonenumber-js rather than a regex. */
describe('reading a typed phone number', () => {
  it.each([
    ['020 7946 0018', 'GB', '+442079460018'],
    ['02079460018', 'GB', '+442079460018'],
    ['(415) 555-0123', 'US', '+14155550123'],
    ['415.555.0123', 'US', '+14155550123'],
    ['415-555-0123', 'US', '+14155550123'],
    ['06 12 34 56 78', 'FR', '+33612345678'],
  ])('reads the national number %j as dialled in %s', (text, country, e164) => {
    expect(accepted(text, country)).toBe(e164);
  });

  it.each([
    ['+44 20 7946 0018', 'US'],
    ['+44 (0)20 7946-0018', 'FR'],
    ['+442079460018', null],
    ['  +44 20 7946 0018  ', null],
  ])('reads the international number %j whatever the country (%s)', (text, country) => {
    expect(accepted(text, country)).toBe('+442079460018');
  });

  it("reads a country's international prefix as international format (00 in the UK, 011 in the US)", () => {
    expect(accepted('0044 20 7946 0018', 'GB')).toBe('+442079460018');
    expect(accepted('011 44 20 7946 0018', 'US')).toBe('+442079460018');
  });

  it('refuses a number that is not valid in the country chosen, naming the country in the words of the hint', () => {
    for (const [text, country] of [
      ['020 7946 001', 'GB'],
      ['020 7946 0018', 'FR'],
      ['555-0100', 'US'],
    ] as const) {
      expect(parsePhoneNumber(text, country)).toEqual({
        ok: false,
        message: `That is not a valid number. ${phoneInstruction(country)}`,
      });
    }
    expect(phoneInstruction('GB')).toBe(
      'Enter your number as you would dial it in the country chosen (United Kingdom), or in international format starting with\u00a0+.',
    );
  });

  it('the hint and the instruction say the same thing in the same words', () => {
    const words = (text: string) => text.replace(/^(Your number|Enter your number)/, '').replace(/ \([^)]*\)/, '');
    expect(words(phoneInstruction('GB'))).toBe(words(PHONE_HINT));
    expect(words(phoneInstruction(null))).toBe(words(PHONE_HINT));
  });

  it('with no country, only international format is accepted, and the refusal says none is chosen', () => {
    expect(parsePhoneNumber('020 7946 0018', null)).toEqual({
      ok: false,
      message:
        'That is not a valid number. Enter your number as you would dial it in the country chosen (none is chosen), or in international format starting with\u00a0+.',
    });
  });

  it('an unknown country reads as none rather than failing', () => {
    expect(parsePhoneNumber('020 7946 0018', 'XX')).toMatchObject({ ok: false });
    expect(accepted('+44 20 7946 0018', 'XX')).toBe('+442079460018');
  });

  it.each(['', '   ', '123', '+0123456789', '+1 415 CALL NOW', '+1 (415) 555-0123 <b>', '+999 1234 5678', '++44 20'])(
    'refuses %j',
    (text) => {
      expect(parsePhoneNumber(text, 'US').ok).toBe(false);
    },
  );

  it('an empty field asks for the number without calling it invalid', () => {
    expect(parsePhoneNumber('', 'GB')).toEqual({ ok: false, message: phoneInstruction('GB') });
  });

  it('refuses huge input at once, without reading it', () => {
    const started = performance.now();
    for (const text of ['1'.repeat(100_000), `+44 ${'(0) '.repeat(20_000)}`, `+${'4'.repeat(65)}`])
      expect(parsePhoneNumber(text, 'GB').ok).toBe(false);
    expect(performance.now() - started).toBeLessThan(200);
  });
});

describe('countries', () => {
  it('accepts the ISO 3166-1 alpha-2 codes libphonenumber supports, in either case', () => {
    expect(countrySchema.parse('GB')).toBe('GB');
    expect(countrySchema.parse(' us ')).toBe('US');
    for (const code of ['XX', 'UK', 'GBR', '', '44', 'EU', 'G'.repeat(1000)])
      expect(countrySchema.safeParse(code).success, code).toBe(false);
  });

  it('offers every supported country once, by English name with its calling code', () => {
    expect(COUNTRY_OPTIONS).toContainEqual({ code: 'GB', label: 'United Kingdom (+44)' });
    expect(COUNTRY_OPTIONS).toContainEqual({ code: 'US', label: 'United States (+1)' });
    expect(new Set(COUNTRY_OPTIONS.map((c) => c.code)).size).toBe(COUNTRY_OPTIONS.length);
    const labels = COUNTRY_OPTIONS.map((c) => c.label);
    expect(labels).toEqual([...labels].sort((a, b) => a.localeCompare(b, 'en')));
    for (const option of COUNTRY_OPTIONS) expect(countrySchema.safeParse(option.code).success).toBe(true);
  });
});

describe('numbers shown back', () => {
  it.each([
    ['+442079460018', '+44 •• •••• ••18'],
    ['+14155550123', '+1 ••• ••• ••23'],
    ['+33612345678', '+33 • •• •• •• 78'],
  ])('%s shows as %s: international format, the country code and the last two digits', (e164, shown) => {
    expect(maskPhoneNumber(e164)).toBe(shown);
  });
});
