import { describe, expect, it } from 'vitest';

import { ConfigError, loadConfig } from '../../../src/config/load.ts';

const load = (env: Record<string, string>) => loadConfig({ env, cwd: process.cwd() });

function messageOf(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error('expected a ConfigError, but loading succeeded');
}

/** Issue 11: a Redis Cluster is configured by its nodes, validated at start-up with the key named. */
describe('redis.cluster configuration', () => {
  it('is off by default', () => {
    expect(load({}).redis.cluster).toBeNull();
  });

  it('reads REDIS_CLUSTER_NODES as a comma-separated list of node URLs', () => {
    const config = load({ REDIS_CLUSTER_NODES: 'redis://10.0.0.1:7000, redis://10.0.0.2:7001,' });
    expect(config.redis.cluster).toEqual({ nodes: ['redis://10.0.0.1:7000', 'redis://10.0.0.2:7001'] });
    expect(config.redis.url).toBeNull();
  });

  it('refuses a node that is not a Redis URL, naming the key', () => {
    expect(messageOf(() => load({ REDIS_CLUSTER_NODES: 'redis://a:7000,http://b:7001' }))).toContain(
      'redis.cluster.nodes.1',
    );
  });

  it('refuses nodes that mix plain and TLS connections', () => {
    expect(messageOf(() => load({ REDIS_CLUSTER_NODES: 'redis://a:7000,rediss://b:7001' }))).toContain(
      'redis.cluster.nodes: must all use the same scheme',
    );
  });

  it('refuses REDIS_URL and REDIS_CLUSTER_NODES together', () => {
    expect(messageOf(() => load({ REDIS_URL: 'redis://a:6379', REDIS_CLUSTER_NODES: 'redis://b:7000' }))).toContain(
      'redis.cluster: set either',
    );
  });

  it('refuses a key prefix with a hash tag (every key would land on one node)', () => {
    const overrides = { redis: { keyPrefix: '{twofold}:', cluster: { nodes: ['redis://a:7000'] } } };
    expect(messageOf(() => loadConfig({ env: {}, cwd: process.cwd(), overrides }))).toContain('redis.keyPrefix');
  });
});
