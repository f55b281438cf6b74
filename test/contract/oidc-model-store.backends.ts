import type { OidcModelStore } from '../../src/ports/oidc-model-store.ts';
import { createRedisOidcModelStore } from '../../src/storage/redis/oidc-model-store.ts';
import { createSqlOidcModelStore } from '../../src/storage/sql/oidc-model-store.ts';
import { mapBackend, redisBackends, sqlBackends, type Backend, type Timeline } from './backends.ts';

/** The OidcModelStore on every backend: SQL (embedded mode) and Redis (scale-out). */
export interface Subject extends Timeline {
  store: OidcModelStore;
  /** Everything the backend holds for this file, raw (what a copy of the database or of Redis shows). */
  dump(): Promise<string>;
}

/** What the Redis store gives an artifact saved without expiry (every key expires). */
export const FALLBACK_TTL_SECONDS = 86_400;

/** Call at module top level, as the backends it maps. */
export function oidcModelStoreBackends(): Backend<Subject>[] {
  return [
    ...sqlBackends().map((backend) =>
      mapBackend(backend, ({ db, clock, elapse }) => ({
        store: createSqlOidcModelStore(db, clock),
        dump: async () => JSON.stringify(await db.selectFrom('oidc_models').selectAll().execute()),
        clock,
        elapse,
      })),
    ),
    ...redisBackends().map((backend) =>
      mapBackend(backend, ({ client, prefix, keys, clock, elapse }) => ({
        store: createRedisOidcModelStore(client, prefix, () => Math.floor(clock.now() / 1000), FALLBACK_TTL_SECONDS),
        async dump() {
          const entries: unknown[] = [];
          for (const { key, type } of await keys()) {
            const value =
              type === 'hash'
                ? await client.hGetAll(key)
                : type === 'set'
                  ? await client.sMembers(key)
                  : await client.get(key);
            entries.push([key, value]);
          }
          return JSON.stringify(entries);
        },
        clock,
        elapse,
      })),
    ),
  ];
}
