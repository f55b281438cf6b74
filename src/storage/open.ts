import { sql } from 'kysely';

import type { Config } from '../config/load.ts';
import type { ReadinessCheck } from '../ports/readiness.ts';
import type { AttemptCounter } from '../ports/attempt-counter.ts';
import type { Clock } from '../ports/clock.ts';
import type { EphemeralStore } from '../ports/ephemeral-store.ts';
import type { OidcModelStore } from '../ports/oidc-model-store.ts';
import type { StoreName } from '../ports/store-unavailable.ts';
import { createRedisAttemptCounter } from './redis/attempt-counter.ts';
import { closeRedis, connectRedis, connectRedisCluster, pingRedis } from './redis/client.ts';
import { guardRedisStore } from './redis/guard.ts';
import { createRedisEphemeralStore } from './redis/ephemeral-store.ts';
import { createRedisOidcModelStore } from './redis/oidc-model-store.ts';
import { createSqlAttemptCounter } from './sql/attempt-counter.ts';
import { openSqlDatabase, type SqlDatabase } from './sql/database.ts';
import { createSqlEphemeralStore } from './sql/ephemeral-store.ts';
import { createSqlOidcModelStore } from './sql/oidc-model-store.ts';

/** Durable SQL plus the ephemeral stores of the configured mode (DESIGN §3). */
export interface Storage {
  sql: SqlDatabase;
  models: OidcModelStore;
  counter: AttemptCounter;
  ephemeral: EphemeralStore;
  checks: ReadinessCheck[];
  /** Deletes expired ephemeral rows (embedded mode; Redis expires keys itself). */
  sweep(): Promise<void>;
  close(): Promise<void>;
}

/** What the node is told about connection failures it recovers from by itself (for its log). */
export type OutageListener = (store: StoreName, error: Error) => void;

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
  const settings = {
    connectTimeoutMs: config.redis.connectTimeoutMs,
    commandTimeoutMs: config.redis.commandTimeoutMs,
    onError: (error: Error) => options.onOutage('redis', error),
  };
  const { url, cluster } = config.redis;
  let redis;
  try {
    redis = cluster ? await connectRedisCluster(cluster.nodes, settings) : await connectRedis(url!, settings);
  } catch (error) {
    await sqlDb.close();
    const where = cluster ? 'the Redis Cluster at REDIS_CLUSTER_NODES' : 'Redis at REDIS_URL';
    throw new Error(`cannot connect to ${where}: ${(error as Error).message}`);
  }
  const prefix = config.redis.keyPrefix;
  const guard = <T extends object>(store: T) => guardRedisStore(store, config.redis.commandTimeoutMs);
  checks.push({ name: 'redis', check: () => pingRedis(redis) });
  // An artifact saved without expiry (none is, with this configuration) keeps the longest configured
  // lifetime instead: no key lives for ever.
  const longestTtl = Math.max(...Object.values(config.ttl));
  return {
    sql: sqlDb,
    models: guard(createRedisOidcModelStore(redis, prefix, () => Math.floor(clock.now() / 1000), longestTtl)),
    counter: guard(createRedisAttemptCounter(redis, prefix, clock)),
    ephemeral: guard(createRedisEphemeralStore(redis, prefix)),
    checks,
    sweep: async () => {},
    async close() {
      await closeRedis(redis, config.redis.commandTimeoutMs);
      await sqlDb.close();
    },
  };
}
