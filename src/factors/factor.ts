import type { FactorKind, FactorRecord } from '../ports/factor-stores.ts';

/** Whose factor: every factor operation is scoped to one person of one organization. */
export interface Person {
  orgId: string;
  userId: string;
  email: string;
}

/** A proven method, as recorded for the session's acr and amr (RFC 8176 values). */
export interface ProvenMethod {
  method: FactorKind | 'recovery' | 'passkey';
  amr: string[];
  factorId: string | null;
}

export type FailureReason = 'invalid' | 'expired' | 'reused' | 'too_many_attempts' | 'malformed';

export type VerifyOutcome = { ok: true; proven: ProvenMethod } | { ok: false; reason: FailureReason; message: string };

export const fail = (reason: FailureReason, message: string): VerifyOutcome => ({ ok: false, reason, message });

/** What the sign-in step shows for each method, in the person's words. */
export const FACTOR_NAMES: Record<FactorKind | 'recovery', string> = {
  totp: 'Authenticator app',
  sms: 'Text message (SMS)',
  voice: 'Voice call',
  webauthn: 'Security key or passkey',
  recovery: 'Recovery code',
};

/** Public view of a factor: never a seed, key or counter. */
export interface FactorSummary {
  id: string;
  kind: FactorKind;
  label: string;
  kindName: string;
  /** The last digits of a phone number, for "ending in 23". */
  hint: string | null;
  passkey: boolean;
  createdAt: number;
  lastUsedAt: number | null;
}

export function summarizeFactor(factor: FactorRecord): FactorSummary {
  return {
    id: factor.id,
    kind: factor.kind,
    label: factor.label,
    kindName: FACTOR_NAMES[factor.kind],
    hint: factor.phone ? factor.phone.slice(-2) : null,
    passkey: factor.passkey,
    createdAt: factor.createdAt,
    lastUsedAt: factor.lastUsedAt,
  };
}

/** A factor label typed by a person: trimmed, 1–60 characters. */
export function cleanLabel(label: unknown, fallback: string): string {
  const text = typeof label === 'string' ? label.trim().replace(/\s+/g, ' ') : '';
  return (text || fallback).slice(0, 60);
}
