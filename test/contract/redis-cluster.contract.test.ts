import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { connectRedisCluster, pingRedis, type RedisClusterClient } from '../../src/storage/redis/client.ts';
import { createRedisEphemeralStore } from '../../src/storage/redis/ephemeral-store.ts';
import { uniqueName } from '../helpers/backends.ts';
import { clusterSkipReason, startRedisCluster, type RedisCluster } from '../helpers/redis-cluster.ts';

const skip = clusterSkipReason() !== null;

/**
 * Issue 11: the cluster the store suites run on really enforces hash slots (so a store that sent a
 * multi-key command would fail there), and the stores' keys spread over every master.
 */
describe.skipIf(skip)('the Redis Cluster the stores are tested on', () => {
  let cluster: RedisCluster;
  let client: RedisClusterClient;

  beforeAll(async () => {
    cluster = await startRedisCluster();
    client = await connectRedisCluster([cluster.urls[0]!]);
  });
  afterAll(async () => {
    await client?.close();
    await cluster?.stop();
  });

  it('refuses a script whose keys lie in two slots, and runs one whose keys share a hash tag', async () => {
    const script = "return redis.call('GET', KEYS[1]) or redis.call('GET', KEYS[2]) or 'none'";
    await expect(client.eval(script, { keys: ['a', 'b'] })).rejects.toThrow(/CROSSSLOT/);
    await expect(client.eval(script, { keys: ['{t}a', '{t}b'] })).resolves.toBe('none');
  });

  it('spreads the keys of one prefix over every master, and answers PING on each', async () => {
    const prefix = `${uniqueName('spread')}:`;
    const store = createRedisEphemeralStore(client, prefix);
    await Promise.all(Array.from({ length: 30 }, (_, i) => store.put(`k${i}`, { i }, 60)));
    const perMaster = await Promise.all(
      client.masters.map(async (master) => (await client.nodeClient(master)).keys(`${prefix}*`)),
    );
    expect(perMaster).toHaveLength(3);
    expect(perMaster.every((keys) => keys.length > 0)).toBe(true);
    expect(perMaster.flat()).toHaveLength(30);
    await expect(pingRedis(client)).resolves.toBeUndefined();
  });
});
