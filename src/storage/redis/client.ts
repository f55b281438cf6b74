import { createClient } from 'redis';

function newClient(url: string, isConnected: () => boolean) {
  return createClient({
    url,
    socket: {
      connectTimeout: 5000,
      reconnectStrategy: (retries) =>
        !isConnected() ? new Error('cannot connect to Redis') : Math.min(retries * 100, 3000),
    },
  });
}

export type RedisClient = ReturnType<typeof newClient>;

/** Connects to Redis; fails fast (rather than retrying forever) when the first connect fails. */
export async function connectRedis(url: string): Promise<RedisClient> {
  let connected = false;
  const client = newClient(url, () => connected);
  // Errors after start-up surface through /readyz and failing requests; without a listener
  // node-redis would crash the process on a transient network error.
  client.on('error', () => {});
  await client.connect();
  connected = true;
  return client;
}
