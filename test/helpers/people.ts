import { randomUUID } from 'node:crypto';

import type { Person } from '../../src/factors/factor.ts';
import { createSqlOrganizationStore } from '../../src/storage/sql/organization-store.ts';
import type { Database } from '../../src/storage/sql/tables.ts';
import { createSqlUserStore } from '../../src/storage/sql/user-store.ts';

/** A person in an organization of their own, straight into the stores (no password hashing). */
export async function insertPerson(db: Database): Promise<Person> {
  const orgId = randomUUID();
  const userId = randomUUID();
  const email = `alice-${userId.slice(0, 8)}@example.com`;
  await createSqlOrganizationStore(db).insertOrganization({
    id: orgId,
    slug: `org-${userId.slice(0, 8)}`,
    name: 'Acme',
    enforceTfa: false,
    passwordMinLength: null,
    trustedBrowserDays: 30,
    createdAt: 0,
  });
  await createSqlUserStore(db).insertUser(
    { id: userId, orgId, email, name: null, phone: null, role: 'member', createdAt: 0, passwordChangedAt: 0 },
    '$x',
  );
  return { orgId, userId, email };
}
