import { describe, expect, it } from 'vitest';

import { createSqlOrganizationStore } from '../../src/storage/sql/organization-store.ts';
import { describeEachBackend, sqlBackends } from './backends.ts';

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
});
