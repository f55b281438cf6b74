import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe } from 'vitest';

import {
  connectRedis,
  connectRedisCluster,
  type RedisClient,
  type RedisClusterClient,
  type RedisCommands,
} from '../../src/storage/redis/client.ts';
import { openSqlDatabase } from '../../src/storage/sql/database.ts';
import type { Database } from '../../src/storage/sql/tables.ts';
import type { Transactions } from '../../src/ports/transactions.ts';
import { createSchema, DATABASE_URL, dropRedisPrefix, REDIS_URL, skipReason, uniqueName } from '../helpers/backends.ts';
import { createTestClock, type TestClock } from '../helpers/clock.ts';
import { clusterSkipReason, startRedisCluster } from '../helpers/redis-cluster.ts';

/**
 * Fixtures for the contract suites: every store implementation runs one suite body per backend it
 * supports (Conventions 4 and 12). A backend opens a fresh database per test file (SQLite in
 * memory, a new PostgreSQL schema, a new Redis key prefix) and removes it in afterAll.
 */

/**
 * How the suite makes time pass. SQL stores read expiry from the injected clock, so advancing it is
 * enough; Redis expires keys on its own clock, so there the time really has to pass as well.
 */
export interface Timeline {
  clock: TestClock;
  elapse(ms: number): Promise<void>;
}

export interface Opened<T> {
  subject: T;
  close(): Promise<void>;
}

/** One backend a contract suite runs on; `skip` is null when its service answers. */
export interface Backend<T> {
  name: string;
  skip: string | null;
  open(): Promise<Opened<T>>;
}

/** A SQL database as opened, before any migration. */
export interface RawSql {
  db: Database;
  transactions: Transactions;
  migrate(): Promise<string[]>;
  close(): Promise<void>;
}

export interface SqlSubject extends Timeline {
  db: Database;
  transactions: Transactions;
  migrate(): Promise<string[]>;
  /** Another database of the same kind (a further schema on PostgreSQL), not yet migrated. */
  openUnmigrated(): Promise<RawSql>;
}

export interface RedisSubject extends Timeline {
  client: RedisCommands;
  /** A key prefix of this test file's own; every key under it is deleted in afterAll. */
  prefix: string;
  /** Every key under the prefix (on every master of a cluster), with its type. */
  keys(): Promise<{ key: string; type: string }[]>;
}

/** Far from the real time on purpose: nothing in a SQL store may read the system clock. */
const SQL_EPOCH = Date.UTC(2031, 0, 1);

function fakeTimeline(start: number): Timeline {
  const clock = createTestClock(start);
  return { clock, elapse: async (ms) => clock.advance(ms) };
}

function realTimeline(): Timeline {
  const clock = createTestClock(Date.now());
  return {
    clock,
    async elapse(ms) {
      clock.advance(ms);
      await sleep(ms);
    },
  };
}

async function openSqlite(): Promise<RawSql> {
  const sql = openSqlDatabase({ kind: 'sqlite', filename: ':memory:' });
  return { db: sql.db, transactions: sql.transactions, migrate: () => sql.migrate(), close: () => sql.close() };
}

async function openPostgres(): Promise<RawSql> {
  const schema = await createSchema();
  const sql = openSqlDatabase({ kind: 'postgres', url: DATABASE_URL, schema: schema.schema });
  return {
    db: sql.db,
    transactions: sql.transactions,
    migrate: () => sql.migrate(),
    async close() {
      await sql.close();
      await schema.drop();
    },
  };
}

function sqlBackend(name: string, skip: string | null, openRaw: () => Promise<RawSql>): Backend<SqlSubject> {
  return {
    name,
    skip,
    async open() {
      const opened = await openRaw();
      try {
        await opened.migrate();
      } catch (error) {
        await opened.close();
        throw error;
      }
      return {
        subject: {
          db: opened.db,
          transactions: opened.transactions,
          migrate: opened.migrate,
          openUnmigrated: openRaw,
          ...fakeTimeline(SQL_EPOCH),
        },
        close: opened.close,
      };
    },
  };
}

/** SQLite in memory and PostgreSQL in a fresh schema, both migrated. Call at module top level. */
export function sqlBackends(): Backend<SqlSubject>[] {
  return [sqlBackend('SQLite', null, openSqlite), sqlBackend('PostgreSQL', skipReason('postgres'), openPostgres)];
}

/** The keys under `prefix` on one Redis server, with their types. */
async function keysOn(client: RedisClient, prefix: string): Promise<{ key: string; type: string }[]> {
  const found: { key: string; type: string }[] = [];
  for await (const keys of client.scanIterator({ MATCH: `${prefix}*`, COUNT: 500 })) {
    for (const key of keys) found.push({ key, type: await client.type(key) });
  }
  return found;
}

async function keysOnCluster(cluster: RedisClusterClient, prefix: string) {
  const perMaster = await Promise.all(
    cluster.masters.map(async (master) => keysOn((await cluster.nodeClient(master)) as RedisClient, prefix)),
  );
  return perMaster.flat();
}

/** Redis under a key prefix unique to the test file. Call at module top level. */
export function redisBackend(): Backend<RedisSubject> {
  return {
    name: 'Redis',
    skip: skipReason('redis'),
    async open() {
      const prefix = `${uniqueName('contract')}:`;
      const client = await connectRedis(REDIS_URL);
      return {
        subject: { client, prefix, keys: () => keysOn(client, prefix), ...realTimeline() },
        async close() {
          await client.close();
          await dropRedisPrefix(prefix);
        },
      };
    },
  };
}

/**
 * A real three-master Redis Cluster of the test file's own (issue 11): every store command must
 * land on the node of its key's hash slot, and nothing may span two slots.
 */
export function redisClusterBackend(): Backend<RedisSubject> {
  return {
    name: 'Redis Cluster',
    skip: clusterSkipReason(),
    async open() {
      const cluster = await startRedisCluster();
      const prefix = `${uniqueName('contract')}:`;
      const client = await connectRedisCluster(cluster.urls).catch(async (error: unknown) => {
        await cluster.stop();
        throw error;
      });
      return {
        subject: { client, prefix, keys: () => keysOnCluster(client, prefix), ...realTimeline() },
        async close() {
          await client.close();
          await cluster.stop();
        },
      };
    },
  };
}

/** The Redis backends of the scale-out stores: one Redis, and a Redis Cluster. */
export const redisBackends = (): Backend<RedisSubject>[] => [redisBackend(), redisClusterBackend()];

/** Builds the store under test from a backend's subject, keeping the backend's lifecycle. */
export function mapBackend<T, U>(backend: Backend<T>, build: (subject: T) => U): Backend<U> {
  return {
    name: backend.name,
    skip: backend.skip,
    async open() {
      const opened = await backend.open();
      return { subject: build(opened.subject), close: opened.close };
    },
  };
}

/**
 * Instantiates one suite body per backend: `describe(<backend name>)`, skipped (visibly) when the
 * service is missing. The body gets a getter because the subject exists only after beforeAll.
 */
export function describeEachBackend<T>(backends: Backend<T>[], suite: (subject: () => T) => void): void {
  for (const backend of backends) {
    describe.skipIf(backend.skip !== null)(backend.name, () => {
      let opened: Opened<T> | undefined;
      beforeAll(async () => {
        opened = await backend.open();
      });
      afterAll(async () => {
        await opened?.close();
      });
      suite(() => {
        if (!opened) throw new Error(`${backend.name} was not opened`);
        return opened.subject;
      });
    });
  }
}
