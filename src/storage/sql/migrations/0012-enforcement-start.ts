import { sql, type Kysely } from 'kysely';

/**
 * Issue 9 (enrolment grace): when an organization's enforcement of TFA last turned on, since a
 * member's grace period counts from the later of that moment and their joining. For an organization
 * that already enforces TFA the moment is unknown; its creation is the earliest it can have been,
 * so existing members get no more grace than they could have had.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('organizations').addColumn('tfa_enforced_at', 'bigint').execute();
  await sql`update organizations set tfa_enforced_at = created_at where enforce_tfa = 1`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('organizations').dropColumn('tfa_enforced_at').execute();
}
