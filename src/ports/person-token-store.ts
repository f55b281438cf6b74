/** What a one-time link or code lets its holder do. */
export const PERSON_TOKEN_PURPOSES = ['password_reset', 'invitation', 'access_code'] as const;
export type PersonTokenPurpose = (typeof PERSON_TOKEN_PURPOSES)[number];

/**
 * A one-time secret issued to a person: a password-reset link, an invitation link, or an
 * administrator's temporary access code. Only its keyed hash is stored; it is spent once.
 */
export interface PersonTokenRecord {
  id: string;
  orgId: string;
  userId: string;
  purpose: PersonTokenPurpose;
  /** HMAC-SHA-256 of the secret under the deployment's pepper (KeyedHash). */
  tokenHash: string;
  createdAt: number;
  expiresAt: number;
  usedAt: number | null;
  /** Who issued it: an administrator's email, "cli", or null when the person asked for it. */
  createdBy: string | null;
}

export interface PersonTokenStore {
  /**
   * Stores a new token and, in the same transaction, spends every other live token of the same
   * person and purpose: only the newest link or code works.
   */
  insertPersonToken(token: PersonTokenRecord): Promise<void>;
  /** A live (unused, unexpired) token by its hash, whoever it belongs to; for reading a link before using it. */
  findLivePersonToken(
    purpose: PersonTokenPurpose,
    tokenHash: string,
    now: number,
  ): Promise<PersonTokenRecord | undefined>;
  /** The person's live token of this purpose, if any (the console shows that a code is pending). */
  findLivePersonTokenOf(
    orgId: string,
    userId: string,
    purpose: PersonTokenPurpose,
    now: number,
  ): Promise<PersonTokenRecord | undefined>;
  /**
   * Spends a live token atomically (UPDATE … WHERE used_at IS NULL RETURNING): of two concurrent
   * uses exactly one gets the record, the other undefined.
   */
  consumePersonToken(
    purpose: PersonTokenPurpose,
    tokenHash: string,
    now: number,
  ): Promise<PersonTokenRecord | undefined>;
  /** Spends every live token of the person (all purposes when none is given): a reset, a disable. */
  revokePersonTokens(orgId: string, userId: string, now: number, purpose?: PersonTokenPurpose): Promise<number>;
}
