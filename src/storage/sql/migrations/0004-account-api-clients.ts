import type { Kysely } from 'kysely';

/** Which clients may call the account API: a grant of its own, apart from skipping consent. */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .alterTable('clients')
    .addColumn('account_api', 'integer', (c) => c.notNull().defaultTo(0))
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('clients').dropColumn('account_api').execute();
}
