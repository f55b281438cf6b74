import type { Clock } from '../ports/clock.ts';
import type { FactorKind, FactorRecord } from '../ports/factor-stores.ts';
import type { Random } from '../ports/random.ts';

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

/** A new factor record of a person, with every kind-specific field empty unless given. */
export function newFactor(
  deps: { random: Random; clock: Clock },
  person: Person,
  kind: FactorKind,
  label: string,
  fields: Partial<Omit<FactorRecord, 'id' | 'orgId' | 'userId' | 'kind' | 'label'>>,
): FactorRecord {
  return {
    id: deps.random.uuid(),
    orgId: person.orgId,
    userId: person.userId,
    kind,
    label,
    active: false,
    sealedSecret: null,
    lastStep: null,
    phone: null,
    credentialId: null,
    publicKey: null,
    counter: null,
    transports: [],
    passkey: false,
    createdAt: deps.clock.now(),
    lastUsedAt: null,
    ...fields,
  };
}
