import { errorCatalogue } from '../domain/errors.ts';
import type { FailureReason } from './factor.ts';

/**
 * Why a factor refused, with the status every flow answers for it (a factor's own message
 * replaces the default). Codes are the FailureReason values, so a reason means one status.
 */
export const factorErrors = errorCatalogue({
  malformed: { status: 400, message: 'Check what you typed and try again.' },
  setup_expired: { status: 400, message: 'This setup has expired. Start again.' },
  invalid: { status: 401, message: 'That is not right.' },
  reused: { status: 401, message: 'That code was already used.' },
  expired: { status: 410, message: 'That has expired. Start again.' },
  too_many_attempts: { status: 429, message: 'Too many wrong tries. Start again.' },
  rate_limited: { status: 429, message: 'Too many requests. Wait, or use another method.' },
  unavailable: { status: 503, message: 'That cannot be done just now. Try again in a moment, or use another method.' },
} satisfies Record<FailureReason, { status: number; message: string }>);
