import type { Clock } from '../../ports/clock.ts';
import type { EphemeralStore } from '../../ports/ephemeral-store.ts';
import type { Database } from './tables.ts';

/** Embedded-mode short-lived values: expiring rows; `take` is DELETE … RETURNING (atomic). */
export function createSqlEphemeralStore(
  db: Database,
  clock: Clock,
): EphemeralStore & { sweepExpired(): Promise<number> } {
  return {
    async put(key, value, ttlSeconds) {
      const row = { key, value: JSON.stringify(value), expires_at: clock.now() + ttlSeconds * 1000 };
      await db
        .insertInto('ephemeral_values')
        .values(row)
        .onConflict((oc) => oc.column('key').doUpdateSet({ value: row.value, expires_at: row.expires_at }))
        .execute();
    },
    async get<T>(key: string) {
      const row = await db
        .selectFrom('ephemeral_values')
        .select('value')
        .where('key', '=', key)
        .where('expires_at', '>', clock.now())
        .executeTakeFirst();
      return row ? (JSON.parse(row.value) as T) : undefined;
    },
    async take<T>(key: string) {
      const row = await db
        .deleteFrom('ephemeral_values')
        .where('key', '=', key)
        .where('expires_at', '>', clock.now())
        .returning('value')
        .executeTakeFirst();
      return row ? (JSON.parse(row.value) as T) : undefined;
    },
    async delete(key) {
      await db.deleteFrom('ephemeral_values').where('key', '=', key).execute();
    },
    async sweepExpired() {
      const result = await db.deleteFrom('ephemeral_values').where('expires_at', '<=', clock.now()).executeTakeFirst();
      return Number(result.numDeletedRows);
    },
  };
}
