import { createClient, createCluster } from 'redis';

/** How long a connection attempt and a command may take (config `redis.*`). */
export interface RedisSettings {
  connectTimeoutMs: number;
  commandTimeoutMs: number;
  /** Told about every connection failure after start-up; the client keeps reconnecting. */
  onError(error: Error): void;
}

const DEFAULTS: RedisSettings = { connectTimeoutMs: 3000, commandTimeoutMs: 2000, onError: () => {} };

/** Reconnection waits double from 50 ms up to this, so a Redis that is back is used again within two seconds. */
const MAX_RECONNECT_DELAY_MS = 2000;

/**
 * Commands waiting for Redis at once, beyond which new ones are refused (an outage must not grow
 * memory without bound): far above what the nodes' requests keep in flight when Redis answers.
 */
const MAX_QUEUED_COMMANDS = 10_000;

function newClient(url: string, settings: RedisSettings, isConnected: () => boolean) {
  return createClient({
    url,
    // While disconnected a command fails at once (no offline queue): the request answers 503 instead of waiting.
    disableOfflineQueue: true,
    commandsQueueMaxLength: MAX_QUEUED_COMMANDS,
    // Bounds a command that has not been sent yet; src/storage/redis/guard.ts bounds one sent to a stalled server.
    commandOptions: { timeout: settings.commandTimeoutMs },
    socket: {
      connectTimeout: settings.connectTimeoutMs,
      reconnectStrategy: (retries) =>
        !isConnected() ? new Error('cannot connect to Redis') : Math.min(50 * 2 ** retries, MAX_RECONNECT_DELAY_MS),
    },
  });
}

export type RedisClient = ReturnType<typeof newClient>;

/**
 * Node-redis asks for credentials and TLS for the nodes a cluster discovers in `defaults`: the
 * root nodes' URLs are only used for the discovery itself.
 */
function clusterDefaults(url: string) {
  const { username, password, protocol } = new URL(url);
  return {
    ...(username ? { username: decodeURIComponent(username) } : {}),
    ...(password ? { password: decodeURIComponent(password) } : {}),
    ...(protocol === 'rediss:' ? { tls: true as const } : {}),
  };
}

function newCluster(urls: string[], settings: RedisSettings, isConnected: () => boolean) {
  const { tls, ...credentials } = clusterDefaults(urls[0]!);
  return createCluster({
    rootNodes: urls.map((url) => ({ url })),
    commandOptions: { timeout: settings.commandTimeoutMs },
    defaults: {
      ...credentials,
      disableOfflineQueue: true,
      commandsQueueMaxLength: MAX_QUEUED_COMMANDS,
      socket: {
        ...(tls ? { tls } : {}),
        connectTimeout: settings.connectTimeoutMs,
        reconnectStrategy: (retries: number) =>
          !isConnected() ? new Error('cannot connect to Redis') : Math.min(50 * 2 ** retries, MAX_RECONNECT_DELAY_MS),
      },
    },
  });
}

export type RedisClusterClient = ReturnType<typeof newCluster>;

/**
 * The commands the scale-out stores use, each naming exactly one key: a single Redis and a Redis
 * Cluster both answer them, and no command can span two hash slots (CROSSSLOT). An operation that
 * needs several keys at once would have to put one hash tag (`{…}`) in all of them; none does today.
 * (node-redis would split some multi-key commands such as MGET per slot on a cluster, silently no
 * longer atomic; scripts and MULTI it cannot split, and Redis refuses them.)
 */
export interface RedisCommands {
  get(key: string): Promise<string | null>;
  set(key: string, value: string, options: { EX: number }): Promise<unknown>;
  getDel(key: string): Promise<string | null>;
  del(key: string): Promise<number>;
  hGetAll(key: string): Promise<Record<string, string>>;
  sMembers(key: string): Promise<string[]>;
  sRem(key: string, members: string | string[]): Promise<number>;
  /** A script run on one key's node: every script names exactly one key (`keys: [key]`). */
  eval(script: string, options: { keys: [string]; arguments?: string[] }): Promise<unknown>;
}

/**
 * Connects to Redis; fails fast (rather than retrying forever) when the first connect fails, and
 * after that reconnects for as long as the node runs.
 */
export async function connectRedis(url: string, options: Partial<RedisSettings> = {}): Promise<RedisClient> {
  const settings = { ...DEFAULTS, ...options };
  let connected = false;
  const client = newClient(url, settings, () => connected);
  // Without a listener node-redis would end the process on a transient network error; requests
  // meanwhile answer 503 and /readyz reports the outage.
  client.on('error', (error: Error) => {
    if (connected) settings.onError(error);
  });
  await client.connect();
  connected = true;
  return client;
}

/**
 * Connects to a Redis Cluster through any of its nodes (the rest are discovered), with the same
 * deadlines, reconnection and outage behaviour as a single Redis.
 */
export async function connectRedisCluster(
  urls: string[],
  options: Partial<RedisSettings> = {},
): Promise<RedisClusterClient> {
  const settings = { ...DEFAULTS, ...options };
  let connected = false;
  const cluster = newCluster(urls, settings, () => connected);
  // A node's connection failing is reported on the cluster as 'node-error'; the cluster's own as 'error'.
  const report = (error: Error) => {
    if (connected) settings.onError(error);
  };
  cluster.on('error', report);
  cluster.on('node-error', report);
  await cluster.connect();
  connected = true;
  return cluster;
}

/** Answers when every master of the cluster (or the single Redis) answers PING. */
export async function pingRedis(redis: RedisClient | RedisClusterClient): Promise<void> {
  if (!('masters' in redis)) return void (await redis.ping());
  await Promise.all(redis.masters.map(async (master) => (await redis.nodeClient(master)).ping()));
}

/**
 * Closes once the commands in flight are answered, or drops them after `timeoutMs`: a stalled
 * Redis must not hold a node's shutdown.
 */
export async function closeRedis(client: RedisClient | RedisClusterClient, timeoutMs: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), timeoutMs)));
  const outcome = await Promise.race([client.close().then(() => 'closed' as const), late]);
  clearTimeout(timer);
  if (outcome === 'late') client.destroy();
}
