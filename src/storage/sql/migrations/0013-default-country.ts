import type { Kysely } from 'kysely';

/**
 * Issue 8 (phone numbers): the country whose national format an organization's people type their
 * phone numbers in unless they pick another (ISO 3166-1 alpha-2). Null, the value of every existing
 * organization, means no default: numbers are typed in international format unless a country is picked.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('organizations').addColumn('default_country', 'varchar(2)').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('organizations').dropColumn('default_country').execute();
}
