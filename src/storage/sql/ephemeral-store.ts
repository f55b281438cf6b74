import type { Clock } from '../../ports/clock.ts';
import type { EphemeralStore } from '../../ports/ephemeral-store.ts';
import { statementsOf } from './statements.ts';
import type { Database } from './tables.ts';

/** Embedded-mode short-lived values: expiring rows; `take` is DELETE … RETURNING (atomic). */
export function createSqlEphemeralStore(
  db: Database,
  clock: Clock,
): EphemeralStore & { sweepExpired(): Promise<number> } {
  // Hand-written statements (statements.ts): a sign-in keeps its pending state here.
  const statements = statementsOf(db);
  const valueOf = <T>(rows: { value: string }[]) => (rows[0] ? (JSON.parse(rows[0].value) as T) : undefined);
  return {
    async put(key, value, ttlSeconds) {
      await statements.run(
        `insert into ephemeral_values ("key", value, expires_at) values (?, ?, ?)
         on conflict ("key") do update set value = excluded.value, expires_at = excluded.expires_at`,
        [key, JSON.stringify(value), clock.now() + ttlSeconds * 1000],
      );
    },
    async get<T>(key: string) {
      return valueOf<T>(
        await statements.all('select value from ephemeral_values where "key" = ? and expires_at > ?', [
          key,
          clock.now(),
        ]),
      );
    },
    async take<T>(key: string) {
      return valueOf<T>(
        await statements.all('delete from ephemeral_values where "key" = ? and expires_at > ? returning value', [
          key,
          clock.now(),
        ]),
      );
    },
    async delete(key) {
      await statements.run('delete from ephemeral_values where "key" = ?', [key]);
    },
    async sweepExpired() {
      const result = await db.deleteFrom('ephemeral_values').where('expires_at', '<=', clock.now()).executeTakeFirst();
      return Number(result.numDeletedRows);
    },
  };
}
