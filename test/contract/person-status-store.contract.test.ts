import { describe, expect, it } from 'vitest';

import type { StatusChange } from '../../src/ports/person-status-store.ts';
import { createSqlPersonStatusStore } from '../../src/storage/sql/person-status-store.ts';
import { createSqlUserStore } from '../../src/storage/sql/user-store.ts';
import type { Database } from '../../src/storage/sql/tables.ts';
import { T0 } from '../helpers/factor-stores.ts';
import { insertAccount, insertOrganization } from '../helpers/people.ts';
import { describeEachBackend, mapBackend, sqlBackends } from './backends.ts';

/** Disabling, enabling and role changes, and the organization's last administrator, on SQLite and PostgreSQL. */
const backends = sqlBackends().map((backend) =>
  mapBackend(backend, ({ db }) => ({ db, status: createSqlPersonStatusStore(db) })),
);

/** An organization with `admins` administrators and one member, and another organization's administrator. */
async function anOrganizationWith(db: Database, admins: number) {
  const org = await insertOrganization(db);
  const status = createSqlPersonStatusStore(db);
  const people = [];
  for (let i = 0; i < admins + 1; i++) {
    const { user } = await insertAccount(db, org);
    if (i < admins) await status.updatePersonStatus(org.id, user.id, { role: 'admin' });
    people.push(user.id);
  }
  const outsider = (await insertAccount(db)).user;
  await status.updatePersonStatus(outsider.orgId, outsider.id, { role: 'admin' });
  return { org, admins: people.slice(0, admins), member: people[admins]!, outsider };
}

const userOf = async (db: Database, id: string) => (await createSqlUserStore(db).findUserBySubject(id))!.user;

describeEachBackend(backends, (subject) => {
  describe('PersonStatusStore', () => {
    it('disables, keeps the first time on a second disable, enables, and changes roles', async () => {
      const { db, status } = subject();
      const { org, member } = await anOrganizationWith(db, 1);
      const disabled = await status.updatePersonStatus(org.id, member, { disabledAt: T0 });
      expect(disabled).toMatchObject({ outcome: 'changed', before: { id: member, disabledAt: null, role: 'member' } });
      expect(await status.updatePersonStatus(org.id, member, { disabledAt: T0 + 5 })).toEqual({ outcome: 'unchanged' });
      expect((await userOf(db, member)).disabledAt).toBe(T0);
      expect(await status.updatePersonStatus(org.id, member, { disabledAt: null })).toMatchObject({
        outcome: 'changed',
      });
      expect(await status.updatePersonStatus(org.id, member, { disabledAt: null })).toEqual({ outcome: 'unchanged' });
      expect(await status.updatePersonStatus(org.id, member, { role: 'admin' })).toMatchObject({
        outcome: 'changed',
        before: { role: 'member' },
      });
      expect(await userOf(db, member)).toMatchObject({ role: 'admin', disabledAt: null });
      expect(await status.countEnabledAdmins(org.id)).toBe(2);
    });

    it("never touches another organization's person", async () => {
      const { db, status } = subject();
      const { org, outsider } = await anOrganizationWith(db, 1);
      expect(await status.updatePersonStatus(org.id, outsider.id, { disabledAt: T0 })).toEqual({
        outcome: 'not_found',
      });
      expect(await status.updatePersonStatus(org.id, outsider.id, { role: 'member' })).toEqual({
        outcome: 'not_found',
      });
      expect(await userOf(db, outsider.id)).toMatchObject({ role: 'admin', disabledAt: null });
    });

    it('refuses to disable or demote the last enabled administrator, and counts only enabled ones', async () => {
      const { db, status } = subject();
      const { org, admins } = await anOrganizationWith(db, 2);
      const [grace, alan] = admins as [string, string];
      expect(await status.updatePersonStatus(org.id, alan, { disabledAt: T0 })).toMatchObject({ outcome: 'changed' });
      expect(await status.countEnabledAdmins(org.id)).toBe(1);
      expect(await status.updatePersonStatus(org.id, grace, { disabledAt: T0 })).toEqual({ outcome: 'last_admin' });
      expect(await status.updatePersonStatus(org.id, grace, { role: 'member' })).toEqual({ outcome: 'last_admin' });
      // A disabled administrator's role can change: it leaves the count of enabled ones as it was.
      expect(await status.updatePersonStatus(org.id, alan, { role: 'member' })).toMatchObject({ outcome: 'changed' });
      expect(await userOf(db, grace)).toMatchObject({ role: 'admin', disabledAt: null });
    });

    it('two administrators demoting or disabling each other at the same moment leave one administrator', async () => {
      const { db, status } = subject();
      for (let round = 0; round < 8; round++) {
        const { org, admins } = await anOrganizationWith(db, 2);
        const [grace, alan] = admins as [string, string];
        const change: StatusChange = round % 2 === 0 ? { role: 'member' } : { disabledAt: T0 };
        const results = await Promise.all([
          status.updatePersonStatus(org.id, grace, change),
          status.updatePersonStatus(org.id, alan, change),
        ]);
        expect(results.map((r) => r.outcome).sort()).toEqual(['changed', 'last_admin']);
        expect(await status.countEnabledAdmins(org.id)).toBe(1);
      }
    });
  });
});
