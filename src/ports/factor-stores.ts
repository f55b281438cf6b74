/** Durable records of second factors, recovery codes and trusted browsers. */

/** A factor's kind, as registered in the factor registry ("totp", "sms", …). */
export type FactorKind = string;

/** One enrolled (or being enrolled) second factor of a person. Secrets stay sealed. */
export interface FactorRecord {
  id: string;
  orgId: string;
  userId: string;
  kind: FactorKind;
  /** The person's name for it ("Work phone", "YubiKey 5"). */
  label: string;
  /** False while enrolment is unfinished (TOTP before its first code, a phone before it is verified). */
  active: boolean;
  /** TOTP: the AES-256-GCM sealed seed. */
  sealedSecret: string | null;
  /** TOTP: the last accepted time step (RFC 6238 §5.2: a code is accepted once). */
  lastStep: number | null;
  /** SMS and voice: the E.164 number (verified once the factor is active). */
  phone: string | null;
  /** WebAuthn: credential id, COSE public key (base64url), signature counter, transports. */
  credentialId: string | null;
  publicKey: string | null;
  counter: number | null;
  transports: string[];
  /** WebAuthn: a discoverable, user-verifying credential usable for passwordless sign-in. */
  passkey: boolean;
  createdAt: number;
  lastUsedAt: number | null;
}

export interface FactorStore {
  insertFactor(factor: FactorRecord): Promise<void>;
  /** Every factor of the person, oldest first. */
  findFactors(orgId: string, userId: string): Promise<FactorRecord[]>;
  findFactor(orgId: string, userId: string, factorId: string): Promise<FactorRecord | undefined>;
  /** Every active factor of the organization's people (one read for a directory page). */
  findActiveFactorsOfOrganization(orgId: string): Promise<FactorRecord[]>;
  /** Whether the person has two-step verification on (at least one active factor). */
  hasActiveFactor(orgId: string, userId: string): Promise<boolean>;
  /** Passkey sign-in starts from a credential id alone; the id is globally unique. */
  findFactorByCredentialId(credentialId: string): Promise<FactorRecord | undefined>;
  /**
   * Ends an enrolment: the factor works from now on and counts as added `now`. Proving it at
   * enrolment is not a use: its last use stays empty until it is used to sign in.
   */
  activateFactor(orgId: string, userId: string, factorId: string, now: number): Promise<void>;
  deleteFactor(orgId: string, userId: string, factorId: string): Promise<boolean>;
  /** Drops unfinished enrolments of these kinds. */
  deleteInactiveFactors(orgId: string, userId: string, kinds: FactorKind[]): Promise<void>;
  /**
   * Removes every factor, recovery code and trusted browser of the person, and the preferred
   * method, in one transaction (TFA off, or a reset after a lost device); returns how many factors.
   */
  deleteAllFactors(orgId: string, userId: string): Promise<number>;
  /**
   * Accepts a TOTP time step only if it is later than the last accepted one, atomically:
   * of concurrent submissions of one code exactly one wins.
   */
  acceptTotpStep(orgId: string, userId: string, factorId: string, step: number, now: number): Promise<boolean>;
  /** Stores a new WebAuthn signature counter; refuses one that does not move forward (cloned key). */
  advanceCounter(orgId: string, userId: string, factorId: string, counter: number, now: number): Promise<boolean>;
  touchFactor(orgId: string, userId: string, factorId: string, now: number): Promise<void>;
  findPreferredFactorId(orgId: string, userId: string): Promise<string | null>;
  setPreferredFactorId(orgId: string, userId: string, factorId: string | null): Promise<void>;
  /** The person's WebAuthn user handle, created on first use (random, not the user id). */
  findOrCreateWebauthnHandle(orgId: string, userId: string, candidate: string): Promise<string>;
  findUserIdByWebauthnHandle(handle: string): Promise<{ orgId: string; userId: string } | undefined>;
}

export interface RecoveryCodeStore {
  /** Replaces the person's whole set (the old codes die) in one transaction. */
  replaceRecoveryCodes(orgId: string, userId: string, hashes: string[], now: number): Promise<void>;
  /** Marks an unused code used, atomically; false when unknown or already used. */
  consumeRecoveryCode(orgId: string, userId: string, hash: string, now: number): Promise<boolean>;
  countUnusedRecoveryCodes(orgId: string, userId: string): Promise<number>;
}

export interface TrustedBrowser {
  id: string;
  orgId: string;
  userId: string;
  tokenHash: string;
  label: string;
  createdAt: number;
  expiresAt: number;
  lastUsedAt: number | null;
}

export interface TrustedBrowserStore {
  insertTrustedBrowser(browser: TrustedBrowser): Promise<void>;
  findTrustedBrowser(
    orgId: string,
    userId: string,
    tokenHash: string,
    now: number,
  ): Promise<TrustedBrowser | undefined>;
  listTrustedBrowsers(orgId: string, userId: string, now: number): Promise<TrustedBrowser[]>;
  deleteTrustedBrowser(orgId: string, userId: string, id: string): Promise<boolean>;
  touchTrustedBrowser(orgId: string, userId: string, id: string, now: number): Promise<void>;
}
