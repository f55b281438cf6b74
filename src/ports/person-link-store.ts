import type { PersonTokenPurpose, PersonTokenRecord } from './person-token-store.ts';
import type { User } from './stores.ts';

/** The password a link lets its holder choose, and for an invitation the name they confirm. */
export interface PasswordByLink {
  passwordHash: string;
  changedAt: number;
  /** Invitations only: the name the person confirmed; the invitation is then accepted. */
  name?: string | null;
}

/**
 * The writes of the emailed one-time links (password reset, invitation) that belong together,
 * each one transaction: the link is never spent without its password set, and an invited person
 * never exists without their link.
 */
export interface PersonLinkStore {
  /** Inserts an invited person and their invitation; rejects a duplicate email with EmailTakenError. */
  insertInvitedUser(user: User, passwordHash: string, invitation: PersonTokenRecord): Promise<void>;
  /**
   * Spends the live link (UPDATE … WHERE used_at IS NULL RETURNING) and sets its person's password.
   * An invitation also sets the name and clears `invited_at`, and counts only while the invitation
   * is pending. Undefined, with nothing written, when the link is not live (used, expired, unknown).
   */
  setPasswordByLink(
    purpose: PersonTokenPurpose,
    tokenHash: string,
    now: number,
    change: PasswordByLink,
  ): Promise<PersonTokenRecord | undefined>;
  /** Deletes a person whose invitation is still pending (their links go with them); false otherwise. */
  deleteInvitedUser(orgId: string, userId: string): Promise<boolean>;
}
