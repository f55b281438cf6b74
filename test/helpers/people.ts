import { randomUUID } from 'node:crypto';
import { ORGANIZATION_POLICY_DEFAULTS } from '../../src/domain/organizations.ts';

import type { Person } from '../../src/factors/factor.ts';
import type { Organization, UserWithOrganization } from '../../src/ports/stores.ts';
import { createSqlOrganizationStore } from '../../src/storage/sql/organization-store.ts';
import type { Database } from '../../src/storage/sql/tables.ts';
import { createSqlUserStore } from '../../src/storage/sql/user-store.ts';

/**
 * People and organizations straight into the SQL stores, for unit and contract tests (no password
 * hashing; end-to-end tests seed through the app's services with seed.ts instead).
 */

/** An organization record, not yet stored; `overrides` set what the test is about. */
export function anOrganization(overrides: Partial<Organization> = {}): Organization {
  return {
    id: randomUUID(),
    slug: `org-${randomUUID().slice(0, 8)}`,
    name: 'Acme',
    enforceTfa: false,
    passwordMinLength: null,
    trustedBrowserDays: 30,
    appPasswords: 'tfa',
    legacyPasswordAccess: false,
    ...ORGANIZATION_POLICY_DEFAULTS,
    createdAt: 0,
    ...overrides,
  };
}

/** An organization, stored. */
export async function insertOrganization(db: Database, overrides: Partial<Organization> = {}): Promise<Organization> {
  const organization = anOrganization(overrides);
  await createSqlOrganizationStore(db).insertOrganization(organization);
  return organization;
}

/** A member of `organization`, or of a new organization of their own when none is given. */
export async function insertAccount(db: Database, organization?: Organization): Promise<UserWithOrganization> {
  organization ??= await insertOrganization(db);
  const id = randomUUID();
  const user = {
    id,
    orgId: organization.id,
    email: `alice-${id.slice(0, 8)}@example.com`,
    name: null,
    phone: null,
    role: 'member' as const,
    createdAt: 0,
    passwordChangedAt: 0,
    disabledAt: null,
    tfaGraceUntil: null,
    invitedAt: null,
  };
  await createSqlUserStore(db).insertUser(user, '$x');
  return { user, organization };
}

/** A person (as factors see them) in `organization`, or in an organization of their own. */
export async function insertPerson(db: Database, organization?: Organization): Promise<Person> {
  const { user } = await insertAccount(db, organization);
  return { orgId: user.orgId, userId: user.id, email: user.email };
}
