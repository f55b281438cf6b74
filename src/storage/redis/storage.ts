import type { Config } from '../../config/load.ts';
import type { Clock } from '../../ports/clock.ts';
import type { ReadinessCheck } from '../../ports/readiness.ts';
import type { OutageListener, Storage } from '../storage.ts';
import type { SqlDatabase } from '../sql/database.ts';
import { createRedisAttemptCounter } from './attempt-counter.ts';
import { closeRedis, connectRedis, connectRedisCluster, pingRedis } from './client.ts';
import { guardRedisStore } from './guard.ts';
import { createRedisEphemeralStore } from './ephemeral-store.ts';
import { createRedisOidcModelStore } from './oidc-model-store.ts';

/**
 * The scale-out mode's ephemeral stores in Redis beside `sqlDb`. Loaded by `openStorage` only when
 * Redis is configured: the client library is large, and the embedded mode never needs it.
 */
export async function openRedisStorage(
  config: Config,
  clock: Clock,
  sqlDb: SqlDatabase,
  checks: ReadinessCheck[],
  onOutage: OutageListener,
): Promise<Storage> {
  const settings = {
    connectTimeoutMs: config.redis.connectTimeoutMs,
    commandTimeoutMs: config.redis.commandTimeoutMs,
    onError: (error: Error) => onOutage('redis', error),
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
