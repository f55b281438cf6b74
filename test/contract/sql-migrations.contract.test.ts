import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import { describe, expect, it } from 'vitest';

import * as emailsComparedNfkc from '../../src/storage/sql/migrations/0006-emails-compared-nfkc.ts';
import { forgetEnrolmentProofs } from '../../src/storage/sql/migrations/0007-admin-console.ts';
import { createSqlFactorStore } from '../../src/storage/sql/factor-store.ts';
import * as enforcementStart from '../../src/storage/sql/migrations/0012-enforcement-start.ts';
import { createSqlOrganizationStore } from '../../src/storage/sql/organization-store.ts';
import type { Database } from '../../src/storage/sql/tables.ts';
import { createSqlUserStore, userRow } from '../../src/storage/sql/user-store.ts';
import { aFactor } from '../helpers/factor-stores.ts';
import { insertOrganization, insertPerson } from '../helpers/people.ts';
import { describeEachBackend, sqlBackends, type RawSql } from './backends.ts';

/** Migration 0006 on its own, as the migrator runs it (it takes a database of any schema). */
const migrate0006 = (db: Database) => emailsComparedNfkc.up(db as unknown as Kysely<unknown>);

/** A person stored as before migration 0006, under the key of that time (NFC, then lowercase). */
async function insertUnderNfcKey(db: Database, orgId: string, email: string, createdAt: number): Promise<void> {
  const user = {
    ...{ id: randomUUID(), orgId, email, name: null, phone: null, role: 'member' as const, createdAt },
    ...{ disabledAt: null, tfaGraceUntil: null, invitedAt: null },
  };
  const row = userRow({ ...user, passwordChangedAt: createdAt }, '$x');
  const key = email.normalize('NFC').trim().toLowerCase();
  await db
    .insertInto('users')
    .values({ ...row, email_normalized: key })
    .execute();
}

/**
 * migrateToLatest on each SQL backend. PostgreSQL deployments (and every test file) may share one
 * server with a schema each, so migrating one schema must not depend on what the others hold.
 */
describeEachBackend(sqlBackends(), (subject) => {
  describe('migrateToLatest', () => {
    it('migrates a fresh database while another database on the same server is already migrated', async () => {
      // The suite's own database is migrated already; this one is new.
      const fresh = await subject().openUnmigrated();
      try {
        expect(await fresh.migrate()).toContain('0001-initial');
        expect(await createSqlOrganizationStore(fresh.db).countOrganizations()).toBe(0);
      } finally {
        await fresh.close();
      }
    });

    it('a second run applies nothing and keeps the data', async () => {
      const { db, migrate } = subject();
      const organizations = createSqlOrganizationStore(db);
      const before = await organizations.countOrganizations();
      expect(await migrate()).toEqual([]);
      expect(await organizations.countOrganizations()).toBe(before);
    });
  });

  // Issue 9: the enrolment grace counts from when enforcement began, which 0012 starts recording.
  describe('migration 0012 (when enforcement began)', () => {
    it('takes the creation of an organization that already enforces TFA, and nothing for the others', async () => {
      const fresh = await subject().openUnmigrated();
      try {
        await fresh.migrate();
        const raw = fresh.db as unknown as Kysely<unknown>;
        await enforcementStart.down(raw);
        const columns = { name: 'Acme', password_min_length: null, trusted_browser_days: 30 };
        await fresh.db
          .insertInto('organizations')
          .values([
            { id: randomUUID(), slug: 'strict', enforce_tfa: 1, created_at: 1_000, ...columns },
            { id: randomUUID(), slug: 'relaxed', enforce_tfa: 0, created_at: 2_000, ...columns },
          ] as never)
          .execute();
        await enforcementStart.up(raw);
        const organizations = createSqlOrganizationStore(fresh.db);
        expect((await organizations.findOrganizationBySlug('strict'))?.tfaEnforcedAt).toBe(1_000);
        expect((await organizations.findOrganizationBySlug('relaxed'))?.tfaEnforcedAt).toBeNull();
      } finally {
        await fresh.close();
      }
    });
  });

  // Issue 8: emails are compared after NFKC; 0006 recomputes the stored keys.
  describe('migration 0006 (emails compared after NFKC)', () => {
    async function withFresh(test: (fresh: RawSql, orgId: string) => Promise<void>): Promise<void> {
      const fresh = await subject().openUnmigrated();
      try {
        await fresh.migrate();
        await test(fresh, (await insertOrganization(fresh.db)).id);
      } finally {
        await fresh.close();
      }
    }

    it('finds a person stored under the old key by every spelling of the address', async () => {
      await withFresh(async ({ db }, orgId) => {
        await insertUnderNfcKey(db, orgId, 'ＢＥＮ@example.com', 1);
        await insertUnderNfcKey(db, orgId, 'Cy@Example.com', 2);
        await migrate0006(db);
        const users = createSqlUserStore(db);
        expect((await users.findUserByEmail('ben@example.com'))?.user.email).toBe('ＢＥＮ@example.com');
        expect((await users.findUserByEmail('ｃｙ@example.com'))?.user.email).toBe('Cy@Example.com');
      });
    });

    it('refuses to merge two people whose addresses become one, naming both, and changes nothing', async () => {
      await withFresh(async ({ db }, orgId) => {
        await insertUnderNfcKey(db, orgId, 'ada@example.com', 1);
        await insertUnderNfcKey(db, orgId, 'ＢＥＮ@example.com', 2);
        await insertUnderNfcKey(db, orgId, 'ａｄａ@example.com', 3);
        const refused = migrate0006(db);
        await expect(refused).rejects.toThrow('"ada@example.com" and "ａｄａ@example.com"');
        const keys = await db.selectFrom('users').select('email_normalized').orderBy('created_at').execute();
        expect(keys.map((k) => k.email_normalized)).toEqual([
          'ada@example.com',
          'ｂｅｎ@example.com',
          'ａｄａ@example.com',
        ]);
      });
    });
  });

  // Issue 8: enrolment no longer counts as a use; 0007 forgets the uses it recorded.
  describe('migration 0007 (enrolment is not a use)', () => {
    it("forgets a last use within 15 minutes of a method's enrolment and keeps later ones", async () => {
      const { db } = subject();
      const owner = await insertPerson(db);
      const factors = createSqlFactorStore(db);
      const at = (minutes: number) => 1_000_000 + minutes * 60_000;
      const enrolledOnly = aFactor(owner, { createdAt: at(0), lastUsedAt: at(2) });
      const usedLater = aFactor(owner, { createdAt: at(0), lastUsedAt: at(60) });
      const neverUsed = aFactor(owner, { createdAt: at(0), lastUsedAt: null });
      for (const factor of [enrolledOnly, usedLater, neverUsed]) await factors.insertFactor(factor);
      await forgetEnrolmentProofs(db as unknown as Kysely<unknown>);
      const lastUses = async (id: string) => (await factors.findFactor(owner.orgId, owner.userId, id))?.lastUsedAt;
      expect(await lastUses(enrolledOnly.id)).toBeNull();
      expect(await lastUses(usedLater.id)).toBe(at(60));
      expect(await lastUses(neverUsed.id)).toBeNull();
    });
  });
});
