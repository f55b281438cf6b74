import type { Kysely } from 'kysely';

/**
 * App passwords for mail and calendar clients (stored only as keyed hashes), the organization's
 * legacy-access policy, and which clients may introspect tokens or act as a forward-auth proxy.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('app_passwords')
    .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
    .addColumn('org_id', 'varchar(36)', (c) => c.notNull().references('organizations.id').onDelete('cascade'))
    .addColumn('user_id', 'varchar(36)', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('name', 'varchar(60)', (c) => c.notNull())
    .addColumn('digest', 'varchar(64)', (c) => c.notNull().unique())
    .addColumn('scopes', 'varchar(200)', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('expires_at', 'bigint')
    .addColumn('last_used_at', 'bigint')
    .addColumn('last_used_ip', 'varchar(64)')
    .addColumn('last_used_protocol', 'varchar(32)')
    .execute();
  await db.schema.createIndex('app_passwords_user').on('app_passwords').columns(['org_id', 'user_id']).execute();

  await db.schema
    .alterTable('organizations')
    .addColumn('app_passwords', 'varchar(16)', (c) => c.notNull().defaultTo('tfa'))
    .execute();
  await db.schema
    .alterTable('organizations')
    .addColumn('legacy_password_access', 'integer', (c) => c.notNull().defaultTo(0))
    .execute();
  await db.schema
    .alterTable('clients')
    .addColumn('introspection', 'integer', (c) => c.notNull().defaultTo(0))
    .execute();
  await db.schema
    .alterTable('clients')
    .addColumn('forward_auth', 'integer', (c) => c.notNull().defaultTo(0))
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('clients').dropColumn('forward_auth').execute();
  await db.schema.alterTable('clients').dropColumn('introspection').execute();
  await db.schema.alterTable('organizations').dropColumn('legacy_password_access').execute();
  await db.schema.alterTable('organizations').dropColumn('app_passwords').execute();
  await db.schema.dropTable('app_passwords').execute();
}
