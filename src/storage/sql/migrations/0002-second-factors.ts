import type { Kysely } from 'kysely';

/** Second factors, recovery codes, trusted browsers, and short-lived values of embedded mode. */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('factors')
    .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
    .addColumn('org_id', 'varchar(36)', (c) => c.notNull().references('organizations.id').onDelete('cascade'))
    .addColumn('user_id', 'varchar(36)', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('kind', 'varchar(16)', (c) => c.notNull())
    .addColumn('label', 'varchar(100)', (c) => c.notNull())
    .addColumn('active', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('sealed_secret', 'text')
    .addColumn('last_step', 'bigint')
    .addColumn('phone', 'varchar(16)')
    .addColumn('credential_id', 'varchar(1400)', (c) => c.unique())
    .addColumn('public_key', 'text')
    .addColumn('counter', 'bigint')
    .addColumn('transports', 'text')
    .addColumn('passkey', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('last_used_at', 'bigint')
    .execute();
  await db.schema.createIndex('factors_user').on('factors').columns(['org_id', 'user_id']).execute();

  await db.schema
    .createTable('recovery_codes')
    .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
    .addColumn('org_id', 'varchar(36)', (c) => c.notNull().references('organizations.id').onDelete('cascade'))
    .addColumn('user_id', 'varchar(36)', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('code_hash', 'varchar(64)', (c) => c.notNull())
    .addColumn('used_at', 'bigint')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('recovery_codes_user').on('recovery_codes').columns(['org_id', 'user_id']).execute();

  await db.schema
    .createTable('trusted_browsers')
    .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
    .addColumn('org_id', 'varchar(36)', (c) => c.notNull().references('organizations.id').onDelete('cascade'))
    .addColumn('user_id', 'varchar(36)', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('token_hash', 'varchar(64)', (c) => c.notNull().unique())
    .addColumn('label', 'varchar(200)', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .addColumn('last_used_at', 'bigint')
    .execute();

  await db.schema.alterTable('users').addColumn('preferred_factor_id', 'varchar(36)').execute();
  await db.schema.alterTable('users').addColumn('webauthn_handle', 'varchar(64)').execute();
  await db.schema.createIndex('users_webauthn_handle').on('users').column('webauthn_handle').unique().execute();
  // 0 forbids "trust this browser"; otherwise the number of days a trusted browser skips the factor.
  await db.schema
    .alterTable('organizations')
    .addColumn('trusted_browser_days', 'integer', (c) => c.notNull().defaultTo(30))
    .execute();

  await db.schema
    .createTable('ephemeral_values')
    .addColumn('key', 'varchar(255)', (c) => c.primaryKey())
    .addColumn('value', 'text', (c) => c.notNull())
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('ephemeral_values_expires_at').on('ephemeral_values').column('expires_at').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const table of ['ephemeral_values', 'trusted_browsers', 'recovery_codes', 'factors']) {
    await db.schema.dropTable(table).ifExists().execute();
  }
}
