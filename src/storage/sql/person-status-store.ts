import type { PersonStatusStore, StatusChange } from '../../ports/person-status-store.ts';
import type { User } from '../../ports/stores.ts';
import { toUser } from './user-store.ts';
import type { Database } from './tables.ts';

const isEnabledAdmin = (person: Pick<User, 'role' | 'disabledAt'>) =>
  person.role === 'admin' && person.disabledAt === null;

/** The person as the change would leave them; disabling an already disabled person keeps its time. */
function applied(before: User, change: StatusChange): Pick<User, 'role' | 'disabledAt'> {
  if ('role' in change) return { role: change.role, disabledAt: before.disabledAt };
  const disabledAt = change.disabledAt === null ? null : (before.disabledAt ?? change.disabledAt);
  return { role: before.role, disabledAt };
}

export function createSqlPersonStatusStore(db: Database): PersonStatusStore {
  return {
    async updatePersonStatus(orgId, userId, change) {
      return db.transaction().execute(async (trx) => {
        // A write to the organization's row first: on PostgreSQL it locks that row until commit, so
        // a concurrent change to the same organization waits here and then (READ COMMITTED: a new
        // snapshot per statement) counts the administrators this one left; SQLite takes its one
        // write lock at this statement. A conditional UPDATE alone would not do on PostgreSQL: two
        // transactions could each still see the other administrator in their snapshot.
        await trx
          .updateTable('organizations')
          .set((eb) => ({ name: eb.ref('name') }))
          .where('id', '=', orgId)
          .execute();
        const row = await trx
          .selectFrom('users')
          .selectAll()
          .where('org_id', '=', orgId)
          .where('id', '=', userId)
          .executeTakeFirst();
        if (!row) return { outcome: 'not_found' as const };
        const before = toUser(row);
        const after = applied(before, change);
        if (after.role === before.role && after.disabledAt === before.disabledAt)
          return { outcome: 'unchanged' as const };
        if (isEnabledAdmin(before) && !isEnabledAdmin(after)) {
          const other = await trx
            .selectFrom('users')
            .select('id')
            .where('org_id', '=', orgId)
            .where('role', '=', 'admin')
            .where('disabled_at', 'is', null)
            .where('id', '!=', userId)
            .limit(1)
            .executeTakeFirst();
          if (!other) return { outcome: 'last_admin' as const };
        }
        await trx
          .updateTable('users')
          .set({ role: after.role, disabled_at: after.disabledAt })
          .where('org_id', '=', orgId)
          .where('id', '=', userId)
          .execute();
        return { outcome: 'changed' as const, before };
      });
    },
    async countEnabledAdmins(orgId) {
      const row = await db
        .selectFrom('users')
        .select((eb) => eb.fn.countAll().as('admins'))
        .where('org_id', '=', orgId)
        .where('role', '=', 'admin')
        .where('disabled_at', 'is', null)
        .executeTakeFirstOrThrow();
      return Number(row.admins);
    },
  };
}
