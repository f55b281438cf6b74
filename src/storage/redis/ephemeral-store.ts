import type { EphemeralStore } from '../../ports/ephemeral-store.ts';
import type { RedisCommands } from './client.ts';

/** Scale-out short-lived values: SET EX, and GETDEL for the atomic `take`. */
export function createRedisEphemeralStore(redis: RedisCommands, prefix: string): EphemeralStore {
  const keyOf = (key: string) => `${prefix}ephemeral:${key}`;
  const parse = <T>(text: string | null): T | undefined => (text === null ? undefined : (JSON.parse(text) as T));
  return {
    async put(key, value, ttlSeconds) {
      await redis.set(keyOf(key), JSON.stringify(value), { EX: ttlSeconds });
    },
    get: async <T>(key: string) => parse<T>(await redis.get(keyOf(key))),
    take: async <T>(key: string) => parse<T>(await redis.getDel(keyOf(key))),
    async delete(key) {
      await redis.del(keyOf(key));
    },
  };
}
