import { z } from 'zod';

import { normalizeEmail } from '../ports/stores.ts';

/** RFC 5321 §4.5.3.1.3: a path holds at most 256 octets, so an address at most 254 characters. */
const MAX_EMAIL_LENGTH = 254;

/**
 * A practical email shape check (RFC 5321 length limits); delivery is what proves an address.
 * The limit holds for the comparison key too: NFKC can lengthen an address (one ligature becomes
 * up to 18 characters), and the key must fit the column it is unique in.
 */
export const emailSchema = z
  .string()
  .trim()
  .min(3, 'Enter your email address.')
  .max(MAX_EMAIL_LENGTH, 'That email address is too long.')
  .regex(
    /^[^\s@<>()",;:\\[\]]+@[^\s@<>()",;:\\[\]]+\.[^\s@<>()",;:\\[\]]+$/,
    'Enter an email address like name@example.com.',
  )
  .refine((email) => normalizeEmail(email).length <= MAX_EMAIL_LENGTH, 'That email address is too long.');
