import type { Role, User } from './stores.ts';

/** What an administrator changes about a person: whether they are disabled (since when), or their role. */
export type StatusChange = { disabledAt: number | null } | { role: Role };

/**
 * How a change went: made (with the person as they were before it), already so, refused because
 * it would leave the organization without an enabled administrator, or no such person there.
 */
export type StatusChangeOutcome =
  | { outcome: 'changed'; before: User }
  | { outcome: 'unchanged' }
  | { outcome: 'last_admin' }
  | { outcome: 'not_found' };

/** Disabling, re-enabling and role changes, each checked against the organization's last administrator. */
export interface PersonStatusStore {
  /**
   * Applies `change` to a person of the organization unless it would leave the organization without
   * an enabled administrator. Check and write are one transaction that holds the organization's
   * lock, so two administrators demoting or disabling each other at the same moment cannot both
   * pass the check: the second sees the first's change and is refused. Disabling someone already
   * disabled keeps the time they were disabled (unchanged).
   */
  updatePersonStatus(orgId: string, userId: string, change: StatusChange): Promise<StatusChangeOutcome>;
  /** How many administrators of the organization are not disabled. */
  countEnabledAdmins(orgId: string): Promise<number>;
}
