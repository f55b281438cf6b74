import type { z } from 'zod';

import type { Clock } from '../ports/clock.ts';
import type { FactorRecord } from '../ports/factor-stores.ts';
import type { Random } from '../ports/random.ts';

/** Whose factor: every factor operation is scoped to one person of one organization. */
export interface Person {
  orgId: string;
  userId: string;
  email: string;
}

/** A proven method, as recorded for the session's acr and amr (RFC 8176 values). */
export interface ProvenMethod {
  /** The factor's kind, or "passkey" for a passwordless sign-in. */
  method: string;
  amr: string[];
  factorId: string | null;
}

export type FailureReason =
  | 'invalid'
  | 'expired'
  | 'reused'
  | 'too_many_attempts'
  | 'malformed'
  | 'rate_limited'
  | 'unavailable'
  /** The unfinished enrolment the form names is not this person's, or is gone: the flow says where to start again. */
  | 'setup_expired';

/** A refused step: why (for the status and the audit trail), in the person's words, and what to show again. */
export interface Refusal {
  ok: false;
  reason: FailureReason;
  message: string;
  /** The input field the refusal is about, to show the message next to it. */
  field?: string;
  /** The view model of the page to show again with the message (an enrolment's confirm page). */
  model?: Record<string, unknown>;
}

/**
 * `notice` is a view model the flow shows once the proof is done, in the factor's own `proven`
 * view, before the person goes on (how many recovery codes are left).
 */
export type VerifyOutcome = { ok: true; proven: ProvenMethod; notice?: Record<string, unknown> } | Refusal;

/**
 * What the browser is shown next: the factor's page (a QR code, "we sent a code") as a view
 * model, or for a script the same model as JSON (WebAuthn options). A warning keeps the page
 * but says what went wrong (the code could not be sent).
 */
export type Step = { ok: true; model: Record<string, unknown>; warning?: Refusal } | Refusal;

/** A passwordless sign-in proves whose account it is as well as the factor. */
export type PasswordlessOutcome =
  { ok: true; proven: ProvenMethod; owner: { orgId: string; userId: string } } | Refusal;

/** Where a factor operation happens: one-time state is bound to one sign-in or one account session. */
export interface FactorContext {
  binding: string;
  ip: string;
}

/** One way to prove the second step, as the sign-in page lists it. */
export interface MethodChoice {
  /** The factor record's id, or the kind for factors without records (recovery codes). */
  id: string;
  kind: string;
  label: string;
  /** What tells it apart: "number ending in 23", "passkey", "8 left". */
  detail: string | null;
}

export const fail = (
  reason: FailureReason,
  message: string,
  extra: Pick<Refusal, 'field' | 'model'> = {},
): Refusal => ({
  ok: false,
  reason,
  message,
  ...extra,
});

/**
 * One second factor, behind which every flow (the second step of sign-in, enrolment at sign-in,
 * the account's methods, passwordless sign-in) works without knowing which factor it is (STYLE §7).
 * Views live in views/factors/<kind>/: verify.ejs (a partial of the second step), enrol.ejs (a
 * partial of the method lists) and confirm.ejs (the page after enrolment begins).
 */
export interface Factor<In = unknown> {
  readonly kind: string;
  /** The person's word for it: "Authenticator app". */
  readonly name: string;
  /**
   * Proof that a look-alike site cannot relay: the authenticator signs the origin it talks to
   * (WebAuthn, NIST SP 800-63B-4 §3.2.5). Codes a person types (TOTP, SMS, voice, recovery codes)
   * are not. An organization may require such methods of its administrators or of everyone.
   */
  readonly phishingResistant: boolean;
  /** Every field the factor's forms or script send, parsed before any method runs. */
  readonly input: z.ZodType<In>;
  /** Absent for factors that come with another one (recovery codes). */
  readonly enrolment?: {
    /**
     * What the factor's enrol form shows before anything is sent, for its enrol.ejs (the phone
     * factor's countries and the organization's default one); without it the form has no model.
     */
    form?(person: Person): Promise<Record<string, unknown>>;
    begin(person: Person, input: In, context: FactorContext): Promise<Step>;
    /** Proves the new factor with its first use; only then is it active. */
    confirm(person: Person, input: In, context: FactorContext): Promise<VerifyOutcome>;
  };
  /** What tells one of the person's records apart on the pages ("number ending in 23"), if anything. */
  describe(record: FactorRecord): string | null;
  /** Factors without records offer themselves while usable (recovery codes while some are left). */
  available?(person: Person): Promise<MethodChoice | null>;
  /**
   * A bootstrap proves who the person is only so that they can enrol a new method (a temporary
   * access code from an administrator): a sign-in proven with it goes on to enrolment and
   * completes only once a new method is enrolled. While one is available to a person who has no
   * method and must enrol, it is asked for before enrolment. It has no enrolment of its own.
   */
  readonly bootstrap?: true;
  /** Before verify, where the factor must act first: send a code, or hand out WebAuthn options. */
  challenge?(person: Person, records: FactorRecord[], input: In, context: FactorContext): Promise<Step>;
  /** Proves the factor with one of the person's active records of this kind. */
  verify(person: Person, records: FactorRecord[], input: In, context: FactorContext): Promise<VerifyOutcome>;
  /** Sign-in with this factor alone (a user-verified passkey is two factors on its own). */
  readonly passwordless?: {
    challenge(context: FactorContext): Promise<Step>;
    verify(input: In, context: FactorContext): Promise<PasswordlessOutcome>;
  };
}

/** Public view of a factor record: never a seed, key or counter. */
export interface FactorSummary {
  id: string;
  kind: string;
  label: string;
  kindName: string;
  detail: string | null;
  createdAt: number;
  lastUsedAt: number | null;
}

/** A factor label typed by a person: trimmed, 1–60 characters. */
export function cleanLabel(label: unknown, fallback: string): string {
  const text = typeof label === 'string' ? label.trim().replace(/\s+/g, ' ') : '';
  return (text || fallback).slice(0, 60);
}

/** The active record among the person's that the form names, if it is one of theirs (never an unfinished enrolment). */
export const recordNamed = (records: FactorRecord[], id: unknown) => records.find((r) => r.id === id && r.active);

/** A new factor record of a person, with every kind-specific field empty unless given. */
export function newFactor(
  deps: { random: Random; clock: Clock },
  person: Person,
  kind: string,
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
