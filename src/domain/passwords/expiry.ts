import type { UserWithOrganization } from '../../ports/stores.ts';

const DAY_MS = 86_400_000;

/**
 * The organization makes passwords expire (off unless it chose a number of days: NIST SP 800-63B
 * §3.1.1.2 advises against periodic changes, which lead to predictable variations) and this
 * person's password is that old. Only the account password expires; app passwords do not.
 */
export function isPasswordExpired({ user, organization }: UserWithOrganization, now: number): boolean {
  const days = organization.passwordMaxAgeDays;
  return days !== null && now - user.passwordChangedAt >= days * DAY_MS;
}
