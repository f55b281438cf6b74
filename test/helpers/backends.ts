import { randomBytes } from 'node:crypto';
import { createConnection } from 'node:net';
import pg from 'pg';
import { createClient } from 'redis';

/**
 * The storage backends a test file runs against. SQLite always; PostgreSQL and Redis when they
 * answer. Under CI=true a missing service fails the run instead of skipping (CI must prove them).
 */
export const DATABASE_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
export const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
export const IN_CI = process.env.CI === 'true';

function reachable(url: string): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = createConnection({ host: hostname, port: Number(port) }, () => {
      socket.destroy();
      resolve(true);
    });
    socket.on('error', () => resolve(false));
    socket.setTimeout(1000, () => {
      socket.destroy();
      resolve(false);
    });
  });
}

export const postgresAvailable = await reachable(DATABASE_URL);
export const redisAvailable = await reachable(REDIS_URL);

/** Why a service-backed suite is skipped; throws under CI instead. */
export function skipReason(service: 'postgres' | 'redis'): string | null {
  const up = service === 'postgres' ? postgresAvailable : redisAvailable;
  if (up) return null;
  const url = service === 'postgres' ? DATABASE_URL : REDIS_URL;
  if (IN_CI) throw new Error(`CI=true but ${service} is not reachable at ${url}`);
  // Visible in the output so that nobody mistakes a skip for a pass.
  console.warn(`SKIPPED: ${service} tests (nothing answers at ${url})`);
  return `${service} not reachable`;
}

export const uniqueName = (prefix: string) => `${prefix}_${randomBytes(5).toString('hex')}`;

/**
 * This vitest run's id (set by test/global-setup.ts before any test file starts): the schemas a run
 * creates start with it, so a run's teardown drops its own schemas and never those of another run
 * going on at the same time on the same server.
 */
const RUN = /^[0-9a-f]{6}$/.test(process.env.TWOFOLD_TEST_RUN ?? '')
  ? process.env.TWOFOLD_TEST_RUN!
  : randomBytes(3).toString('hex');

/** The names createSchema gives in run `run`; test/global-setup.ts drops them once that run is over. */
export const testSchemaOf = (run: string) => new RegExp(`^t_${run}_[0-9a-f]{4}$`);

/**
 * A fresh PostgreSQL schema for one test file. Nothing is dropped while other files run: Kysely's
 * migrator lists the tables of every schema in the catalog, and a DROP running in another file at
 * that moment makes the listing fail. test/global-setup.ts drops them all once the run is over;
 * `drop` is kept so that callers say when they are done; it leaves the schema to that teardown.
 */
export async function createSchema(): Promise<{ schema: string; drop(): Promise<void> }> {
  const schema = `t_${RUN}_${randomBytes(2).toString('hex')}`;
  const client = new pg.Client({ connectionString: DATABASE_URL });
  await client.connect();
  await client.query(`create schema ${schema}`);
  await client.end();
  return { schema, drop: async () => {} };
}

/** Deletes every key under a test file's prefix. */
export async function dropRedisPrefix(prefix: string): Promise<void> {
  const client = createClient({ url: REDIS_URL });
  await client.connect();
  const keys: string[] = [];
  for await (const batch of client.scanIterator({ MATCH: `${prefix}*`, COUNT: 500 })) keys.push(...batch);
  if (keys.length) await client.del(keys);
  await client.close();
}
