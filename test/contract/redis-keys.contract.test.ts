import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { connectRedis, type RedisClient } from '../../src/storage/redis/client.ts';
import { createRedisAttemptCounter } from '../../src/storage/redis/attempt-counter.ts';
import { createRedisEphemeralStore } from '../../src/storage/redis/ephemeral-store.ts';
import { createRedisOidcModelStore } from '../../src/storage/redis/oidc-model-store.ts';
import { dropRedisPrefix, REDIS_URL, skipReason, uniqueName } from '../helpers/backends.ts';
import { createTestClock } from '../helpers/clock.ts';

/** One command as MONITOR shows it: the connection it came on and its words. */
interface Seen {
  from: string;
  args: string[];
}

/** `1700000000.000 [0 127.0.0.1:5000] "SET" "k" "v"`, with MONITOR's escapes undone. */
function parseMonitorLine(line: string): Seen | null {
  const match = /^\S+ \[\d+ ([^\]]+)\] (.*)$/.exec(line);
  if (!match) return null;
  const args = [...match[2]!.matchAll(/"((?:[^"\\]|\\.)*)"/g)].map(([, word]) =>
    word!.replace(/\\x([0-9a-f]{2})|\\(.)/g, (_, hex: string | undefined, char: string) =>
      hex ? String.fromCharCode(parseInt(hex, 16)) : ({ n: '\n', r: '\r', t: '\t' }[char] ?? char),
    ),
  );
  return { from: match[1]!, args };
}

/** Commands (a MULTI … EXEC block counted as one) grouped per connection, in order. */
function groupTransactions(seen: Seen[]): string[][][] {
  const groups: string[][][] = [];
  const open = new Map<string, string[][]>();
  for (const { from, args } of seen) {
    const name = args[0]!.toUpperCase();
    if (name === 'MULTI') {
      open.set(from, []);
    } else if (name === 'EXEC') {
      groups.push(open.get(from) ?? []);
      open.delete(from);
    } else {
      const transaction = open.get(from);
      if (transaction) transaction.push(args);
      else groups.push([args]);
    }
  }
  return groups;
}

const skip = skipReason('redis') !== null;

/**
 * Issue 11, scale-out: the Redis stores work with Redis Cluster (every command and every
 * transaction names one key, so no operation spans two hash slots) and leave no key without an
 * expiry (nothing piles up for ever).
 */
describe.skipIf(skip)('Redis keys of the scale-out stores', () => {
  const prefix = `${uniqueName('keys')}:`;
  const clock = createTestClock();
  const seen: Seen[] = [];
  let client: RedisClient;
  let monitor: RedisClient;

  beforeAll(async () => {
    client = await connectRedis(REDIS_URL);
    monitor = await connectRedis(REDIS_URL);
    await monitor.monitor((line) => {
      const parsed = parseMonitorLine(String(line));
      if (!parsed || parsed.from === 'lua') return;
      const transaction = ['MULTI', 'EXEC'].includes(parsed.args[0]!.toUpperCase());
      if (transaction || parsed.args.some((arg) => arg.includes(prefix))) seen.push(parsed);
    });
    const models = createRedisOidcModelStore(client, prefix, () => Math.floor(clock.now() / 1000), 86_400);
    const ephemeral = createRedisEphemeralStore(client, prefix);
    const counter = createRedisAttemptCounter(client, prefix, clock);
    // Every kind of key and every index, their replacement and removal, and an artifact without expiry.
    await models.upsert('Session', 's1', { accountId: 'p1', uid: 'u1' }, 600);
    await models.upsert('Session', 's1', { accountId: 'p2', uid: 'u2' }, 600);
    await models.upsert('Grant', 'g1', { accountId: 'p1' }, 600);
    await models.upsert('AccessToken', 't1', { grantId: 'g1', accountId: 'p1', userCode: 'c1' }, 600);
    await models.upsert('AccessToken', 't1', { grantId: 'g2', accountId: 'p1', userCode: 'c2' }, 600);
    await models.upsert('RefreshToken', 'r1', { grantId: 'g2' }, undefined);
    await models.consume('AccessToken', 't1');
    await models.findSessionsOfAccount('p1');
    await models.findGrantIdsOfAccount('p1');
    await models.revokeByGrantId('g1');
    await models.destroy('Session', 's1');
    await ephemeral.put('e1', { a: 1 }, 600);
    await ephemeral.take('e1');
    await ephemeral.put('e2', { a: 2 }, 600);
    await counter.increment('k1', 60_000);
    await counter.acquire('k2', 1, 60_000);
    await counter.release('k2');
    await new Promise((resolve) => setTimeout(resolve, 200));
  });
  afterAll(async () => {
    await monitor?.destroy();
    await client?.close();
    await dropRedisPrefix(prefix);
  });

  it('every command and every transaction names at most one key (Redis Cluster: one hash slot)', async () => {
    const groups = groupTransactions(seen);
    console.log(JSON.stringify(groups.slice(0, 6)).slice(0, 3000));
    console.log(await client.sendCommand(['COMMAND', 'GETKEYS', 'SET', 'a', 'b']));
    expect(groups.length).toBeGreaterThan(20);
    const keysOf = async (args: string[]) =>
      ((await client.sendCommand(['COMMAND', 'GETKEYS', ...args]).catch(() => [])) as string[]).map(String);
    const spanning: string[] = [];
    for (const group of groups) {
      const keys = new Set((await Promise.all(group.map(keysOf))).flat());
      if (keys.size > 1) spanning.push(group.map((args) => args.join(' ').slice(0, 120)).join(' | '));
    }
    expect(spanning).toEqual([]);
  });

  it('every key expires', async () => {
    const keys: string[] = [];
    for await (const batch of client.scanIterator({ MATCH: `${prefix}*`, COUNT: 500 })) keys.push(...batch);
    expect(keys.length).toBeGreaterThan(5);
    const ttls = await Promise.all(keys.map(async (key) => [key, await client.pTTL(key)] as const));
    expect(ttls.filter(([, ttl]) => ttl < 0)).toEqual([]);
  });
});
