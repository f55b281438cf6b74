import { z } from 'zod';

import { phoneSchema } from '../../domain/accounts.ts';
import type { FailureReason } from '../../factors/factor.ts';

/** The fields of every factor form (enrolment at sign-in, the account pages, the second step). */
export const factorForm = z.object({
  factorId: z.string().max(64).default(''),
  id: z.string().max(64).default(''),
  code: z.string().max(64, 'That code is too long.').default(''),
  label: z.string().max(200).default(''),
  phone: z.string().max(32).default(''),
  kind: z.enum(['sms', 'voice']).default('sms'),
});

/** A phone number as people type it ("+44 7700 900123", "(415) 555-0123") checked as E.164. */
export function parsePhone(input: string) {
  return phoneSchema.safeParse(input.replace(/[\s().-]/g, ''));
}

const STATUS: Record<FailureReason, number> = { malformed: 400, invalid: 401, reused: 401, expired: 410, too_many_attempts: 429 };

/** The HTTP status of a refused code, the same on every page. */
export const statusFor = (reason: FailureReason): number => STATUS[reason];
