import { z } from 'zod';

/** A practical email shape check (RFC 5321 length limits); delivery is what proves an address. */
export const emailSchema = z
  .string()
  .trim()
  .min(3, 'Enter your email address.')
  .max(254, 'That email address is too long.')
  .regex(
    /^[^\s@<>()",;:\\[\]]+@[^\s@<>()",;:\\[\]]+\.[^\s@<>()",;:\\[\]]+$/,
    'Enter an email address like name@example.com.',
  );
