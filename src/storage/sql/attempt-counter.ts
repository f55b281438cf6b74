import type { AttemptCounter } from '../../ports/attempt-counter.ts';
import type { Clock } from '../../ports/clock.ts';
import { statementsOf } from './statements.ts';
import type { Database } from './tables.ts';

/** Failure counters in SQL. The upsert increments in one statement, so no failure is lost. */
export function createSqlAttemptCounter(
  db: Database,
  clock: Clock,
): AttemptCounter & { sweepExpired(): Promise<number> } {
  const statements = statementsOf(db);
  type Row = { count: number | string; last_at: number | string };
  // Hand-written statements (statements.ts): these run several times per sign-in. One upsert counts
  // an attempt; an expired counter starts again from one instead of growing forever. `guard`, when
  // given, leaves a full counter as it is (and then the statement returns no row).
  const counting = (guard = '') =>
    `insert into attempt_counters ("key", count, last_at, expires_at) values (?, 1, ?, ?)
     on conflict ("key") do update set
       count = case when attempt_counters.expires_at <= excluded.last_at then 1 else attempt_counters.count + 1 end,
       last_at = excluded.last_at,
       expires_at = excluded.expires_at
     ${guard}
     returning count, last_at`;
  const increment = counting();
  const acquire = counting('where attempt_counters.expires_at <= excluded.last_at or attempt_counters.count < ?');
  return {
    async increment(key, windowMs) {
      const now = clock.now();
      const [row] = await statements.all<Row>(increment, [key, now, now + windowMs]);
      return { count: Number(row!.count), lastAt: Number(row!.last_at) };
    },
    async peek(key) {
      const rows = await statements.all<Row>(
        'select count, last_at from attempt_counters where "key" = ? and expires_at > ?',
        [key, clock.now()],
      );
      const row = rows[0];
      return row ? { count: Number(row.count), lastAt: Number(row.last_at) } : null;
    },
    async acquire(key, limit, windowMs) {
      const now = clock.now();
      const rows = await statements.all(acquire, [key, now, now + windowMs, limit]);
      return rows.length > 0;
    },
    async release(key) {
      await statements.run('update attempt_counters set count = count - 1 where "key" = ? and count > 0', [key]);
    },
    async clear(key) {
      await statements.run('delete from attempt_counters where "key" = ?', [key]);
    },
    async sweepExpired() {
      const result = await db.deleteFrom('attempt_counters').where('expires_at', '<=', clock.now()).executeTakeFirst();
      return Number(result.numDeletedRows);
    },
  };
}
