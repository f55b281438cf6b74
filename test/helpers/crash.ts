import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';

import { REDIS_URL } from './backends.ts';
import { stopChild } from './processes.ts';
import type { TestServer } from './server.ts';
import { startTwofoldProcess, type TwofoldProcess } from './twofold-process.ts';

/**
 * Crashing a real Twofold process in the middle of an operation (issue 11: "a crash in the middle
 * leaves the old state intact"), deterministically and without test hooks in the product: another
 * connection holds an ACCESS EXCLUSIVE lock on a table the operation writes late, the process is
 * seen (pg_locks) holding the row locks of its first writes while it waits on that lock, and is
 * then killed with SIGKILL. Its PostgreSQL backend rolls back once the lock is released.
 */

/** Long enough for a loaded machine; every wait below polls and ends as soon as it can. */
const WAIT_MS = 60_000;

/** The `application_name` of the crashing process's connections: how its backends are told apart. */
export const CRASHING = 'twofold-crashing-node';

/**
 * The environment of a process that is `server`'s deployment (same database, Redis prefix, data
 * directory with its secrets, issuer) but with statements that may wait as long as the test needs
 * (the node's own statement timeout would otherwise cancel the wait and roll back by itself).
 */
export function crashingEnv(server: TestServer, databaseUrl: string): Record<string, string> {
  const { dataDir, redis, issuer } = server.environment.config;
  const configFile = path.join(dataDir, 'crashing-node.json');
  writeFileSync(
    configFile,
    JSON.stringify({ redis: { keyPrefix: redis.keyPrefix }, database: { queryTimeoutMs: 2 * WAIT_MS } }),
  );
  return {
    TWOFOLD_CONFIG: configFile,
    TWOFOLD_DATA_DIR: dataDir,
    TWOFOLD_ISSUER: issuer,
    DATABASE_URL: databaseUrl,
    REDIS_URL,
    PGAPPNAME: CRASHING,
    LOG_LEVEL: 'warn',
  };
}

/** `node src/main.ts` of the deployment, reached at http://localhost:<its port> (the issuer's host). */
export async function startCrashingNode(server: TestServer, databaseUrl: string): Promise<TwofoldProcess> {
  const node = await startTwofoldProcess(crashingEnv(server, databaseUrl));
  return { ...node, url: node.url.replace('127.0.0.1', 'localhost') };
}

/** `twofold <args>` of the deployment, as an operator runs it, left running. */
export function startCrashingCli(server: TestServer, databaseUrl: string, args: string[]) {
  const child = spawn(process.execPath, ['--disable-warning=ExperimentalWarning', 'bin/twofold.mjs', ...args], {
    env: { ...process.env, ...crashingEnv(server, databaseUrl) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk) => (output += chunk));
  child.stderr.on('data', (chunk) => (output += chunk));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, exited, output: () => output, stop: () => stopChild(child, exited) };
}

async function connect(url: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url, application_name: 'twofold-crash-test' });
  // A test that failed leaves it open until the database is dropped: that must not end the run.
  client.on('error', () => {});
  await client.connect();
  return client;
}

async function poll<T>(what: string, probe: () => Promise<T | undefined>, diagnose = () => ''): Promise<T> {
  const deadline = Date.now() + WAIT_MS;
  while (Date.now() < deadline) {
    const found = await probe();
    if (found !== undefined) return found;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`${what} after ${WAIT_MS} ms ${diagnose()}`);
}

/** A table locked against every read and write until `release` (its transaction rolls back). */
export async function lockTable(url: string, table: string): Promise<{ release(): Promise<void> }> {
  const client = await connect(url);
  await client.query('begin');
  await client.query(`lock table ${table} in access exclusive mode`);
  return {
    async release() {
      await client.query('rollback');
      await client.end();
    },
  };
}

/**
 * Waits until a backend of the crashing process waits on a lock, and answers the tables it has
 * already written in its open transaction (the RowExclusiveLock its INSERT, UPDATE or DELETE took).
 */
export async function waitForBlockedWrite(url: string, output: () => string): Promise<string[]> {
  const client = await connect(url);
  try {
    const pid = await poll(
      'no backend of the crashing process waits on a lock',
      async () => {
        const { rows } = await client.query<{ pid: number }>(
          `select pid from pg_stat_activity where application_name = $1 and wait_event_type = 'Lock'`,
          [CRASHING],
        );
        return rows[0]?.pid;
      },
      output,
    );
    const { rows } = await client.query<{ relname: string }>(
      `select c.relname from pg_locks l join pg_class c on c.oid = l.relation
        where l.pid = $1 and l.granted and l.mode = 'RowExclusiveLock' and c.relkind = 'r' order by c.relname`,
      [pid],
    );
    return rows.map((row) => row.relname);
  } finally {
    await client.end();
  }
}

/** Waits until no backend of the crashing process is left (the orphaned one has rolled back and ended). */
export async function waitForNoBackend(url: string): Promise<void> {
  const client = await connect(url);
  try {
    await poll('a backend of the killed process is still there', async () => {
      const { rows } = await client.query('select 1 from pg_stat_activity where application_name = $1', [CRASHING]);
      return rows.length === 0 ? true : undefined;
    });
  } finally {
    await client.end();
  }
}

/**
 * The crash: the process is killed while it waits inside its transaction; only then is the lock
 * released, so the waiting statement runs, finds its client gone, and the transaction rolls back.
 */
export async function killMidTransaction(
  url: string,
  lock: { release(): Promise<void> },
  process: { child: { kill(signal: NodeJS.Signals): boolean }; exited: Promise<number | null> },
): Promise<void> {
  process.child.kill('SIGKILL');
  await process.exited;
  await lock.release();
  await waitForNoBackend(url);
}
