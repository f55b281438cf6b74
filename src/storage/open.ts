import { sql } from 'kysely';

import type { Config } from '../config/load.ts';
import type { Clock } from '../ports/clock.ts';
import type { ReadinessCheck } from '../ports/readiness.ts';
import { createSqlAttemptCounter } from './sql/attempt-counter.ts';
import { openSqlDatabase } from './sql/database.ts';
import { createSqlEphemeralStore } from './sql/ephemeral-store.ts';
import { createSqlOidcModelStore } from './sql/oidc-model-store.ts';
import type { OutageListener, Storage } from './storage.ts';

export type { OutageListener, Storage };

export async function openStorage(
  config: Config,
  clock: Clock,
  options: { postgresSchema?: string; sqliteFilename: string; onOutage: OutageListener },
): Promise<Storage> {
  const { poolSize, connectTimeoutMs, queryTimeoutMs } = config.database;
  const sqlDb = config.database.url
    ? openSqlDatabase({
        kind: 'postgres',
        url: config.database.url,
        schema: options.postgresSchema,
        poolSize,
        connectTimeoutMs,
        queryTimeoutMs,
        onIdleError: (error) => options.onOutage('database', error),
      })
    : openSqlDatabase({ kind: 'sqlite', filename: options.sqliteFilename });
  const checks: ReadinessCheck[] = [
    { name: 'database', check: async () => void (await sql`select 1`.execute(sqlDb.db)) },
  ];
  if (!config.redis.url && !config.redis.cluster) {
    const models = createSqlOidcModelStore(sqlDb.db, clock);
    const counter = createSqlAttemptCounter(sqlDb.db, clock);
    const ephemeral = createSqlEphemeralStore(sqlDb.db, clock);
    const sweep = async () =>
      void (await Promise.all([models.sweepExpired(), counter.sweepExpired(), ephemeral.sweepExpired()]));
    return { sql: sqlDb, models, counter, ephemeral, checks, sweep, close: () => sqlDb.close() };
  }
  // Loaded only in the scale-out mode: the Redis client is large and the embedded mode never uses it.
  const { openRedisStorage } = await import('./redis/storage.ts');
  return openRedisStorage(config, clock, sqlDb, checks, options.onOutage);
}
