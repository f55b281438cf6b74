import { z } from 'zod';

/**
 * Emails are unique case-insensitively. The whole address is lowercased after NFC normalization:
 * providers that treat local parts case-sensitively are vanishingly rare, and one person holding
 * two accounts that differ only in case is a support and phishing hazard.
 */
export function normalizeEmail(email: string): string {
  return email.normalize('NFC').trim().toLowerCase();
}

/** A practical email shape check (RFC 5321 length limits); delivery is what proves an address. */
export const emailSchema = z
  .string()
  .trim()
  .min(3, 'Enter your email address.')
  .max(254, 'That email address is too long.')
  .regex(/^[^\s@<>()",;:\\[\]]+@[^\s@<>()",;:\\[\]]+\.[^\s@<>()",;:\\[\]]+$/, 'Enter an email address like name@example.com.');
