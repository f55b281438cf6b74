import { randomUUID } from 'node:crypto';
import { expect, it } from 'vitest';

import { createSqlAuditStore } from '../../src/storage/sql/audit-store.ts';
import { createSqlOrganizationStore } from '../../src/storage/sql/organization-store.ts';
import { createSqlRecoveryCodeStore } from '../../src/storage/sql/recovery-code-store.ts';
import { createCryptoRandom } from '../../src/ports/random.ts';
import { anOrganization, insertPerson } from '../helpers/people.ts';
import { describeEachBackend, sqlBackends } from './backends.ts';

/**
 * Transactions.run (issue 11): every store's writes inside it commit together or not at all, a
 * store's own transaction inside it joins it, and what waits for the commit never runs after a
 * rollback. On SQLite and PostgreSQL alike.
 */
describeEachBackend(sqlBackends(), (subject) => {
  const stores = () => {
    const { db } = subject();
    return {
      organizations: createSqlOrganizationStore(db),
      audit: createSqlAuditStore(db),
      recovery: createSqlRecoveryCodeStore(db, createCryptoRandom()),
    };
  };
  const anEvent = (orgId: string, userId: string) => ({
    id: randomUUID(),
    orgId,
    userId,
    type: 'org.policy_changed',
    at: Date.UTC(2031, 0, 1),
    ip: null,
    detail: {},
    actor: 'cli',
    userAgent: null,
    requestId: null,
  });

  it('commits the writes of several stores together, and announces only then', async () => {
    const { organizations, audit } = stores();
    const person = await insertPerson(subject().db);
    const org = { ...anOrganization(), enforceTfa: true };
    const announced: string[] = [];
    await subject().transactions.run(async () => {
      await organizations.insertOrganization(org);
      await audit.insertAuditEvent(anEvent(person.orgId, person.userId));
      subject().transactions.afterCommit(() => announced.push('after commit'));
      expect(announced).toEqual([]);
    });
    expect(announced).toEqual(['after commit']);
    expect((await organizations.findOrganizationById(org.id))?.enforceTfa).toBe(true);
    expect(await audit.listAuditEvents(person.orgId, person.userId, 10)).toHaveLength(1);
  });

  it('rolls back every write on an error, a store transaction inside it too, and announces nothing', async () => {
    const { organizations, audit, recovery } = stores();
    const person = await insertPerson(subject().db);
    await recovery.replaceRecoveryCodes(person.orgId, person.userId, ['a'.repeat(64)], 1);
    const org = anOrganization();
    const announced: string[] = [];
    const failed = subject().transactions.run(async () => {
      await organizations.insertOrganization(org);
      // Its own db.transaction() becomes a savepoint of this one.
      await recovery.replaceRecoveryCodes(person.orgId, person.userId, ['b'.repeat(64), 'c'.repeat(64)], 2);
      // A run inside another joins it.
      await subject().transactions.run(() => audit.insertAuditEvent(anEvent(person.orgId, person.userId)));
      subject().transactions.afterCommit(() => announced.push('after commit'));
      throw new Error('crash');
    });
    await expect(failed).rejects.toThrow('crash');
    expect(announced).toEqual([]);
    expect(await organizations.findOrganizationById(org.id)).toBeUndefined();
    expect(await recovery.countUnusedRecoveryCodes(person.orgId, person.userId)).toBe(1);
    expect(await audit.listAuditEvents(person.orgId, person.userId, 10)).toEqual([]);
  });

  it('lets the work go on after a store transaction inside it failed, keeping what came before', async () => {
    const { organizations } = stores();
    const org = anOrganization();
    const duplicate = { ...anOrganization(), slug: org.slug };
    await subject().transactions.run(async () => {
      await organizations.insertOrganization(org);
      await expect(
        subject()
          .db.transaction()
          .execute(async (trx) => {
            await createSqlOrganizationStore(trx).insertOrganization(duplicate);
          }),
      ).rejects.toThrow();
    });
    expect((await organizations.findOrganizationById(org.id))?.slug).toBe(org.slug);
    expect(await organizations.findOrganizationById(duplicate.id)).toBeUndefined();
  });
});
