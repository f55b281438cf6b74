import { createClient } from 'redis';

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
 * Closes once the commands in flight are answered, or drops them after `timeoutMs`: a stalled
 * Redis must not hold a node's shutdown.
 */
export async function closeRedis(client: RedisClient, timeoutMs: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), timeoutMs)));
  const outcome = await Promise.race([client.close().then(() => 'closed' as const), late]);
  clearTimeout(timer);
  if (outcome === 'late') client.destroy();
}
