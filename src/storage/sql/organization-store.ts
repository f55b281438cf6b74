import type { Insertable, Selectable } from 'kysely';

import type { AppPasswordPolicy, Organization, OrganizationStore } from '../../ports/stores.ts';
import { APP_PASSWORD_POLICIES, DuplicateError } from '../../ports/stores.ts';
import { isUniqueViolation } from './errors.ts';
import type { Database, Tables } from './tables.ts';

export function toOrganization(row: Selectable<Tables['organizations']>): Organization {
  return {
    id: row.id,
    slug: row.slug,
    name: row.name,
    enforceTfa: row.enforce_tfa === 1,
    passwordMinLength: row.password_min_length,
    trustedBrowserDays: row.trusted_browser_days,
    appPasswords: (APP_PASSWORD_POLICIES as readonly string[]).includes(row.app_passwords)
      ? (row.app_passwords as AppPasswordPolicy)
      : 'tfa',
    legacyPasswordAccess: row.legacy_password_access === 1,
    createdAt: row.created_at,
  };
}

export function organizationRow(org: Organization): Insertable<Tables['organizations']> {
  return {
    id: org.id,
    slug: org.slug,
    name: org.name,
    enforce_tfa: org.enforceTfa ? 1 : 0,
    password_min_length: org.passwordMinLength,
    trusted_browser_days: org.trustedBrowserDays,
    app_passwords: org.appPasswords,
    legacy_password_access: org.legacyPasswordAccess ? 1 : 0,
    created_at: org.createdAt,
  };
}

export function createSqlOrganizationStore(db: Database): OrganizationStore {
  return {
    async insertOrganization(org) {
      try {
        await db.insertInto('organizations').values(organizationRow(org)).execute();
      } catch (error) {
        if (isUniqueViolation(error)) throw new DuplicateError(`organization "${org.slug}" already exists`);
        throw error;
      }
    },
    async findOrganizationBySlug(slug) {
      const row = await db.selectFrom('organizations').selectAll().where('slug', '=', slug).executeTakeFirst();
      return row && toOrganization(row);
    },
    async findOrganizationById(id) {
      const row = await db.selectFrom('organizations').selectAll().where('id', '=', id).executeTakeFirst();
      return row && toOrganization(row);
    },
    async updateOrganization(org) {
      const { id: _id, slug: _slug, ...settings } = organizationRow(org);
      await db.updateTable('organizations').set(settings).where('id', '=', org.id).execute();
    },
    async countOrganizations() {
      const row = await db
        .selectFrom('organizations')
        .select((eb) => eb.fn.countAll<number | string>().as('n'))
        .executeTakeFirstOrThrow();
      return Number(row.n);
    },
  };
}
