import { sql, type Kysely } from 'kysely';

import { normalizeEmail } from '../../../ports/stores.ts';

interface UserEmail {
  id: string;
  email: string;
  email_normalized: string;
}

/** The comparison key before this migration (NFC, then lowercase), kept here for `down`. */
const normalizeEmailNfc = (email: string) => email.normalize('NFC').trim().toLowerCase();

/**
 * Issue 8: emails are compared after NFKC and lowercasing (normalizeEmail), no longer NFC, so the
 * stored comparison keys are computed again. Two people whose addresses become one key stop the
 * migration, naming both: merging them or dropping one would hand an account to someone else, so
 * an operator decides which address changes. Nothing is written unless every key is unique.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await inTransaction(db, (trx) => rekey(trx, normalizeEmail));
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await inTransaction(db, (trx) => rekey(trx, normalizeEmailNfc));
}

/** Kysely wraps migrations in a transaction on PostgreSQL only (no transactional DDL on SQLite). */
async function inTransaction(db: Kysely<unknown>, work: (trx: Kysely<unknown>) => Promise<void>): Promise<void> {
  if (db.isTransaction) await work(db);
  else await db.transaction().execute(work);
}

async function rekey(db: Kysely<unknown>, normalize: (email: string) => string): Promise<void> {
  const { rows } = await sql<UserEmail>`select id, email, email_normalized from users order by created_at, id`.execute(
    db,
  );
  const owners = new Map<string, string>();
  const changed: { id: string; key: string }[] = [];
  for (const row of rows) {
    const key = normalize(row.email);
    const owner = owners.get(key);
    if (owner !== undefined) {
      throw new Error(
        `migration 0006: "${owner}" and "${row.email}" are one address once compared after NFKC and ` +
          'lowercasing; change the email of one of these two people, then migrate again',
      );
    }
    owners.set(key, row.email);
    if (key !== row.email_normalized) changed.push({ id: row.id, key });
  }
  // Keys may trade places between rows: park the changed ones first so the unique index never sees
  // a new key while another row still holds it. A user id is unique and never an email.
  for (const { id } of changed) await sql`update users set email_normalized = ${id} where id = ${id}`.execute(db);
  for (const { id, key } of changed) await sql`update users set email_normalized = ${key} where id = ${id}`.execute(db);
}
