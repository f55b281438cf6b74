import type { Kysely } from 'kysely';

/** Browser sessions are listed per person ("where you are signed in", sign out everywhere). */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('oidc_models').addColumn('account_id', 'varchar(255)').execute();
  await db.schema.createIndex('oidc_models_account').on('oidc_models').columns(['model', 'account_id']).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex('oidc_models_account').ifExists().execute();
  await db.schema.alterTable('oidc_models').dropColumn('account_id').execute();
}
