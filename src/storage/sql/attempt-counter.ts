import { sql } from 'kysely';

import type { AttemptCounter } from '../../ports/attempt-counter.ts';
import type { Clock } from '../../ports/clock.ts';
import type { Database } from './tables.ts';

/** Failure counters in SQL. The upsert increments in one statement, so no failure is lost. */
export function createSqlAttemptCounter(
  db: Database,
  clock: Clock,
): AttemptCounter & { sweepExpired(): Promise<number> } {
  return {
    async increment(key, windowMs) {
      const now = clock.now();
      // One raw statement: this runs several times per sign-in, and a raw template skips the
      // query-builder work. An expired counter starts again from one instead of growing forever.
      const { rows } = await sql<{ count: number | string; last_at: number | string }>`
        insert into attempt_counters ("key", count, last_at, expires_at) values (${key}, 1, ${now}, ${now + windowMs})
        on conflict ("key") do update set
          count = case when attempt_counters.expires_at <= ${now} then 1 else attempt_counters.count + 1 end,
          last_at = ${now},
          expires_at = ${now + windowMs}
        returning count, last_at`.execute(db);
      const row = rows[0]!;
      return { count: Number(row.count), lastAt: Number(row.last_at) };
    },
    async peek(key) {
      const { rows } = await sql<{ count: number | string; last_at: number | string }>`
        select count, last_at from attempt_counters where "key" = ${key} and expires_at > ${clock.now()}`.execute(db);
      const row = rows[0];
      return row ? { count: Number(row.count), lastAt: Number(row.last_at) } : null;
    },
    async acquire(key, limit, windowMs) {
      const now = clock.now();
      // The conditional upsert returns no row when every place is taken (and then changes nothing).
      const { rows } = await sql<{ count: number | string }>`
        insert into attempt_counters ("key", count, last_at, expires_at) values (${key}, 1, ${now}, ${now + windowMs})
        on conflict ("key") do update set
          count = case when attempt_counters.expires_at <= ${now} then 1 else attempt_counters.count + 1 end,
          last_at = ${now},
          expires_at = ${now + windowMs}
        where attempt_counters.expires_at <= ${now} or attempt_counters.count < ${limit}
        returning count`.execute(db);
      return rows.length > 0;
    },
    async release(key) {
      await sql`update attempt_counters set count = count - 1 where "key" = ${key} and count > 0`.execute(db);
    },
    async clear(key) {
      await sql`delete from attempt_counters where "key" = ${key}`.execute(db);
    },
    async sweepExpired() {
      const result = await db.deleteFrom('attempt_counters').where('expires_at', '<=', clock.now()).executeTakeFirst();
      return Number(result.numDeletedRows);
    },
  };
}
