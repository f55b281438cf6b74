import {
  getCountries,
  getCountryCallingCode,
  parsePhoneNumberFromString,
  type CountryCode,
} from 'libphonenumber-js/min';
import { z } from 'zod';

/**
 * Phone numbers as people type them, read with libphonenumber's metadata (the `min` set: which
 * numbers are valid in each country, without the number types). A number is kept and sent in
 * E.164 (ITU-T E.164 §6: `+`, country code, at most 15 digits); a person types it as they would
 * dial it in the country chosen ("020 7946 0018" in the United Kingdom), or in international
 * format ("+44 20 7946 0018") whatever the country.
 */

/** A country code of ISO 3166-1 alpha-2 that libphonenumber has numbering plans for. */
export type Country = CountryCode;

const SUPPORTED: ReadonlySet<string> = new Set(getCountries());

/** Longer than any number with its spaces, dashes, parentheses and an extension: refused unread. */
const MAX_TYPED = 64;

/** ISO 3166-1 alpha-2, one libphonenumber knows ("GB", "US"); lower case is accepted. */
export const countrySchema = z
  .string({ error: 'Choose a country from the list.' })
  .trim()
  .max(8, 'Choose a country from the list.')
  .transform((code) => code.toUpperCase())
  .refine((code) => SUPPORTED.has(code), 'Choose a country from the list.')
  .transform((code) => code as Country);

const regionNames = new Intl.DisplayNames('en', { type: 'region', fallback: 'code' });

/** The country's English name: "United Kingdom". */
export const countryName = (country: string): string => regionNames.of(country) ?? country;

/** The country if libphonenumber knows it, else null. */
const supported = (country: string | null): Country | null =>
  country !== null && SUPPORTED.has(country) ? (country as Country) : null;

export interface CountryOption {
  code: Country;
  /** "United Kingdom (+44)" */
  label: string;
}

/** Every supported country with its calling code, by English name, for a picker. */
export const COUNTRY_OPTIONS: readonly CountryOption[] = Object.freeze(
  getCountries()
    .map((code) => ({ code, label: `${countryName(code)} (+${getCountryCallingCode(code)})` }))
    .sort((a, b) => a.label.localeCompare(b.label, 'en')),
);

/** What a phone field accepts, said under it; the error for a number it refuses says the same. */
export const PHONE_HINT =
  'Your number as you would dial it in the country chosen, or in international format starting with\u00a0+.';

/** The hint's words as an instruction, naming the country chosen (or that none is). */
export function phoneInstruction(country: string | null): string {
  const known = supported(country);
  const chosen = known ? countryName(known) : 'none is chosen';
  return `Enter your number as you would dial it in the country chosen (${chosen}), or in international format starting with\u00a0+.`;
}

export type ParsedPhone = { ok: true; e164: string } | { ok: false; message: string };

/**
 * A typed number in E.164, if it is a valid number: national format read as dialled in `country`
 * (none: only international format), international format (`+`, or the `00` of many countries)
 * whatever the country. Spaces, dashes, dots and parentheses are ignored.
 */
export function parsePhoneNumber(text: string, country: string | null): ParsedPhone {
  const known = supported(country);
  const typed = text.trim();
  if (typed === '') return { ok: false, message: phoneInstruction(known) };
  const invalid = { ok: false as const, message: `That is not a valid number. ${phoneInstruction(known)}` };
  if (typed.length > MAX_TYPED || !/^[+\d\s().\-/]+$/.test(typed)) return invalid;
  const parsed = parsePhoneNumberFromString(typed, known ? { defaultCountry: known } : undefined);
  if (!parsed || !parsed.isValid()) return invalid;
  return { ok: true, e164: parsed.number };
}

/**
 * A stored number shown back to its owner: international format with every digit hidden but the
 * country code and the last two ("+44 •• •••• ••18"), so that the country can be recognised.
 */
export function maskPhoneNumber(e164: string): string {
  const parsed = parsePhoneNumberFromString(e164);
  const international = parsed?.formatInternational() ?? e164;
  const code = parsed ? `+${parsed.countryCallingCode}` : '+';
  const rest = international.slice(code.length);
  let shown = 0;
  const masked = [...rest]
    .reverse()
    .map((ch) => (/\d/.test(ch) ? (shown++ < 2 ? ch : '•') : ch))
    .reverse()
    .join('');
  return `${code}${masked}`;
}
