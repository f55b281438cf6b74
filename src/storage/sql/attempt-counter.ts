import type { AttemptCounter } from '../../ports/attempt-counter.ts';
import type { Clock } from '../../ports/clock.ts';
import type { Database } from './tables.ts';

/** Failure counters in SQL. The upsert increments in one statement, so no failure is lost. */
export function createSqlAttemptCounter(db: Database, clock: Clock): AttemptCounter & { sweepExpired(): Promise<number> } {
  return {
    async recordFailure(key, windowMs) {
      const now = clock.now();
      const row = await db
        .insertInto('attempt_counters')
        .values({ key, count: 1, last_at: now, expires_at: now + windowMs })
        .onConflict((oc) =>
          oc.column('key').doUpdateSet((eb) => ({
            // An expired counter starts again from one instead of growing forever.
            count: eb
              .case()
              .when('attempt_counters.expires_at', '<=', now)
              .then(1)
              .else(eb('attempt_counters.count', '+', 1))
              .end(),
            last_at: now,
            expires_at: now + windowMs,
          })),
        )
        .returning(['count', 'last_at'])
        .executeTakeFirstOrThrow();
      return { count: Number(row.count), lastAt: Number(row.last_at) };
    },
    async peek(key) {
      const row = await db
        .selectFrom('attempt_counters')
        .select(['count', 'last_at'])
        .where('key', '=', key)
        .where('expires_at', '>', clock.now())
        .executeTakeFirst();
      return row ? { count: Number(row.count), lastAt: Number(row.last_at) } : null;
    },
    async release(key) {
      await db
        .updateTable('attempt_counters')
        .set((eb) => ({ count: eb('count', '-', 1) }))
        .where('key', '=', key)
        .where('count', '>', 0)
        .execute();
    },
    async clear(key) {
      await db.deleteFrom('attempt_counters').where('key', '=', key).execute();
    },
    async sweepExpired() {
      const result = await db.deleteFrom('attempt_counters').where('expires_at', '<=', clock.now()).executeTakeFirst();
      return Number(result.numDeletedRows);
    },
  };
}
