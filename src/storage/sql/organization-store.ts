import type { Insertable, Selectable } from 'kysely';

import type {
  AppPasswordPolicy,
  Organization,
  OrganizationStore,
  PhishingResistantPolicy,
} from '../../ports/stores.ts';
import { APP_PASSWORD_POLICIES, DuplicateError, PHISHING_RESISTANT_POLICIES } from '../../ports/stores.ts';
import { isUniqueViolation } from './errors.ts';
import type { Database, Tables } from './tables.ts';

type OrganizationRow = Selectable<Tables['organizations']>;

/** Every column, for reads that join the organization under a prefix (see organizationFromPrefixed). */
export const ORGANIZATION_COLUMNS = [
  'id',
  'slug',
  'name',
  'enforce_tfa',
  'password_min_length',
  'created_at',
  'trusted_browser_days',
  'app_passwords',
  'legacy_password_access',
  'tfa_grace_days',
  'tfa_enforced_at',
  'allowed_methods',
  'phishing_resistant',
  'password_max_age_days',
  'session_max_hours',
  'session_idle_minutes',
  'logo_url',
  'default_country',
] as const satisfies readonly (keyof OrganizationRow)[];

/** `o.slug as o_slug, …`: the organization's columns of a joined read, each under `prefix`. */
export const prefixedOrganizationColumns = (table: string, prefix: string): string =>
  ORGANIZATION_COLUMNS.map((column) => `${table}.${column} as ${prefix}${column}`).join(', ');

const NUMERIC = new Set<string>([
  'enforce_tfa',
  'password_min_length',
  'created_at',
  'trusted_browser_days',
  'legacy_password_access',
  'tfa_grace_days',
  'tfa_enforced_at',
  'password_max_age_days',
  'session_max_hours',
  'session_idle_minutes',
]);

/** The organization of a joined row whose columns carry `prefix` (raw reads may give numbers as text). */
export function organizationFromPrefixed(row: Record<string, unknown>, prefix: string): Organization {
  const columns = Object.fromEntries(
    ORGANIZATION_COLUMNS.map((column) => {
      const value = row[`${prefix}${column}`];
      return [column, NUMERIC.has(column) && value !== null ? Number(value) : value];
    }),
  );
  return toOrganization(columns as OrganizationRow);
}

function parseAllowedMethods(text: string | null): string[] | null {
  if (text === null) return null;
  const parsed: unknown = JSON.parse(text);
  return Array.isArray(parsed) ? parsed.filter((kind): kind is string => typeof kind === 'string') : null;
}

export function toOrganization(row: OrganizationRow): Organization {
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
    tfaGraceDays: row.tfa_grace_days,
    tfaEnforcedAt: row.tfa_enforced_at,
    allowedMethods: parseAllowedMethods(row.allowed_methods),
    phishingResistant: (PHISHING_RESISTANT_POLICIES as readonly string[]).includes(row.phishing_resistant)
      ? (row.phishing_resistant as PhishingResistantPolicy)
      : 'none',
    passwordMaxAgeDays: row.password_max_age_days,
    sessionMaxHours: row.session_max_hours,
    sessionIdleMinutes: row.session_idle_minutes,
    logoUrl: row.logo_url,
    defaultCountry: row.default_country,
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
    tfa_grace_days: org.tfaGraceDays,
    tfa_enforced_at: org.tfaEnforcedAt,
    allowed_methods: org.allowedMethods === null ? null : JSON.stringify(org.allowedMethods),
    phishing_resistant: org.phishingResistant,
    password_max_age_days: org.passwordMaxAgeDays,
    session_max_hours: org.sessionMaxHours,
    session_idle_minutes: org.sessionIdleMinutes,
    logo_url: org.logoUrl,
    default_country: org.defaultCountry,
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
