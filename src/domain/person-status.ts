import type { Person } from '../factors/factor.ts';
import type { AccountAccess } from '../ports/account-access.ts';
import type { Clock } from '../ports/clock.ts';
import type { PersonStatusStore, StatusChange, StatusChangeOutcome } from '../ports/person-status-store.ts';
import type { PersonTokenStore } from '../ports/person-token-store.ts';
import type { Organization, Role, User } from '../ports/stores.ts';
import type { Audit } from './audit.ts';
import { domainErrors } from './error-codes.ts';

/** Who changes a person: an administrator in the console, or an operator at the CLI. */
export interface AdminActor {
  /** The administrator's email, or "cli". */
  actor: string;
  /** The administrator's own id when acting in the console, where they must not lock themselves out. */
  userId?: string;
  ip?: string;
}

/** What disabling a person ended. */
export interface DisableResult {
  /** False when the person was disabled already (their access is ended again all the same). */
  changed: boolean;
  sessions: number;
  grants: number;
  /** Live one-time links and codes (reset, invitation, temporary access) that were spent. */
  tokens: number;
}

/**
 * Disabling and re-enabling people and changing their role, as their organization's administrators
 * (or the operator) do. An organization never loses its last enabled administrator this way.
 */
export interface PersonStatus {
  /**
   * Disables the person: from this moment no sign-in, token, app password or one-time link of
   * theirs works, and every session, grant and token they hold ends at once. Their factors stay.
   */
  disable(org: Organization, person: Person, by: AdminActor): Promise<DisableResult>;
  /** Lets a disabled person sign in again with the password and factors they had; false if they were not disabled. */
  enable(org: Organization, person: Person, by: AdminActor): Promise<boolean>;
  /** Makes the person a member or an administrator; false if they already were. */
  changeRole(org: Organization, person: Person, role: Role, by: AdminActor): Promise<boolean>;
  /** How many of the organization's administrators can sign in (the console explains a last one's limits). */
  countEnabledAdmins(org: Organization): Promise<number>;
}

export function createPersonStatus(deps: {
  store: PersonStatusStore;
  tokens: Pick<PersonTokenStore, 'revokePersonTokens'>;
  access: AccountAccess;
  audit: Audit;
  clock: Clock;
}): PersonStatus {
  /** Applies a change, refusing one that would leave the organization without an enabled administrator. */
  async function change(org: Organization, person: Person, wanted: StatusChange): Promise<User | null> {
    const result: StatusChangeOutcome = await deps.store.updatePersonStatus(org.id, person.userId, wanted);
    if (result.outcome === 'not_found') throw domainErrors.raise('unknown_person');
    if (result.outcome === 'last_admin') {
      throw domainErrors.raise('last_admin', {
        message: `${person.email} is the only administrator of ${org.name} who can sign in. Make someone else an administrator first; nothing was changed.`,
      });
    }
    return result.outcome === 'changed' ? result.before : null;
  }

  /** From the console, an administrator would lock themselves out in the middle of their session. */
  function refuseSelf(person: Person, by: AdminActor, message: string): void {
    if (by.userId === person.userId) throw domainErrors.raise('self_lockout', { message });
  }

  return {
    countEnabledAdmins: (org) => deps.store.countEnabledAdmins(org.id),
    async disable(org, person, by) {
      refuseSelf(person, by, 'You cannot disable your own account. Another administrator can.');
      const now = deps.clock.now();
      const before = await change(org, person, { disabledAt: now });
      // Already disabled: ending access again finishes what an interrupted disable may have left.
      const ended = await deps.access.endAll(person.userId);
      const tokens = await deps.tokens.revokePersonTokens(org.id, person.userId, now);
      if (before) {
        await deps.audit.record({
          type: 'user.disabled',
          orgId: org.id,
          userId: person.userId,
          actor: by.actor,
          ip: by.ip,
          detail: { sessions: ended.sessions, grants: ended.grants, tokens },
        });
      }
      return { changed: before !== null, ...ended, tokens };
    },
    async enable(org, person, by) {
      const before = await change(org, person, { disabledAt: null });
      if (!before) return false;
      await deps.audit.record({
        type: 'user.enabled',
        orgId: org.id,
        userId: person.userId,
        actor: by.actor,
        ip: by.ip,
      });
      return true;
    },
    async changeRole(org, person, role, by) {
      if (role !== 'admin')
        refuseSelf(person, by, 'You cannot remove your own administrator role. Another administrator can.');
      const before = await change(org, person, { role });
      if (!before) return false;
      await deps.audit.record({
        type: 'user.role_changed',
        orgId: org.id,
        userId: person.userId,
        actor: by.actor,
        ip: by.ip,
        detail: { from: before.role, to: role },
      });
      return true;
    },
  };
}
