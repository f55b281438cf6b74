import type { AttemptCounter } from '../../ports/attempt-counter.ts';
import type { Clock } from '../../ports/clock.ts';
import type { RedisCommands } from './client.ts';

/** HINCRBY inside one script: concurrent failures on many nodes are all counted. */
const RECORD = `
local count = redis.call('HINCRBY', KEYS[1], 'count', 1)
redis.call('HSET', KEYS[1], 'lastAt', ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return count`;

/** Counts one only below the limit; a refusal leaves the count and its expiry as they were. */
const ACQUIRE = `
local count = tonumber(redis.call('HGET', KEYS[1], 'count') or '0')
if count >= tonumber(ARGV[3]) then return 0 end
redis.call('HINCRBY', KEYS[1], 'count', 1)
redis.call('HSET', KEYS[1], 'lastAt', ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1`;

/** Decrements only an existing, positive counter (a lapsed key is not brought back). */
const RELEASE = `
local count = tonumber(redis.call('HGET', KEYS[1], 'count') or '0')
if count > 0 then return redis.call('HINCRBY', KEYS[1], 'count', -1) end
return 0`;

export function createRedisAttemptCounter(redis: RedisCommands, prefix: string, clock: Clock): AttemptCounter {
  const keyOf = (key: string) => `${prefix}attempts:${key}`;
  return {
    async increment(key, windowMs) {
      const now = clock.now();
      const count = await redis.eval(RECORD, { keys: [keyOf(key)], arguments: [String(now), String(windowMs)] });
      return { count: Number(count), lastAt: now };
    },
    async peek(key) {
      const hash = await redis.hGetAll(keyOf(key));
      if (!hash.count) return null;
      return { count: Number(hash.count), lastAt: Number(hash.lastAt) };
    },
    async acquire(key, limit, windowMs) {
      const taken = await redis.eval(ACQUIRE, {
        keys: [keyOf(key)],
        arguments: [String(clock.now()), String(windowMs), String(limit)],
      });
      return Number(taken) === 1;
    },
    async release(key) {
      await redis.eval(RELEASE, { keys: [keyOf(key)] });
    },
    async clear(key) {
      await redis.del(keyOf(key));
    },
  };
}
