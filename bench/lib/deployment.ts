import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';

import type { createApp as CreateApp } from '../../src/app.ts';
import type { loadConfig as LoadConfig, Config } from '../../src/config/load.ts';
import { stopChild, waitForPort } from '../../test/helpers/processes.ts';
import { dropRedisPrefix, DATABASE_URL, REDIS_URL } from '../../test/helpers/backends.ts';
import { freePort } from '../../test/helpers/server.ts';
import { THREADPOOL_SIZE } from './children.ts';
import { seedDeployment, type SeededPeople } from './seed.ts';

export type Backend = 'sqlite' | 'postgres+redis';

/**
 * One deployment as an operator would run it: a config file in a temporary directory (data
 * directory, secrets, and for scale-out its own PostgreSQL database and Redis prefix), seeded
 * through the app's own services and stores before any node starts, then served by `src/main.ts`
 * child processes pinned to cores with taskset.
 */
export interface Deployment {
  backend: Backend;
  dir: string;
  /** The public issuer (node 1's address: a load balancer in front of the nodes would own it). */
  issuer: string;
  seeded: SeededPeople;
  argon2: Config['passwords']['argon2'];
  startNode(options: { cpus: string; first?: boolean }): Promise<ServerNode>;
  close(): Promise<void>;
}

export interface ServerNode {
  pid: number;
  url: URL;
  stop(): Promise<void>;
}

/** Throttles raised so that a load of correct sign-ins from one address is never rationed. */
const RAISED_THROTTLES = {
  account: { freeAttempts: 10_000, windowSeconds: 60, maxDelaySeconds: 1 },
  ip: { freeAttempts: 10_000, windowSeconds: 60, maxDelaySeconds: 1 },
};

async function createDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `twofold_bench_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: DATABASE_URL });
  await admin.connect();
  await admin.query(`create database ${name}`);
  await admin.end();
  const url = new URL(DATABASE_URL);
  url.pathname = `/${name}`;
  return {
    url: url.href,
    async drop() {
      const client = new pg.Client({ connectionString: DATABASE_URL });
      await client.connect();
      await client.query(`drop database if exists ${name} with (force)`);
      await client.end();
    },
  };
}

export async function createDeployment(
  backend: Backend,
  options: {
    people: number;
    sessions: number;
    logLevel: string;
    /** The directory whose code seeds and serves (this checkout by default; bench/compare.ts gives another). */
    checkout?: string;
  },
): Promise<Deployment> {
  const checkout = options.checkout ?? path.resolve(import.meta.dirname, '../..');
  const { createApp } = (await import(path.join(checkout, 'src/app.ts'))) as { createApp: typeof CreateApp };
  const { loadConfig } = (await import(path.join(checkout, 'src/config/load.ts'))) as { loadConfig: typeof LoadConfig };
  const dir = mkdtempSync(path.join(tmpdir(), 'twofold-bench-'));
  const port = await freePort();
  const issuer = `http://127.0.0.1:${port}`;
  const database = backend === 'postgres+redis' ? await createDatabase() : undefined;
  const redisPrefix = `twofold-bench-${randomBytes(4).toString('hex')}:`;
  const configFile = path.join(dir, 'config.json');
  writeFileSync(
    configFile,
    JSON.stringify(
      {
        port,
        host: '127.0.0.1',
        issuer,
        dataDir: path.join(dir, 'data'),
        logLevel: options.logLevel,
        throttle: RAISED_THROTTLES,
        database: { url: database?.url ?? null },
        redis: database ? { url: REDIS_URL, keyPrefix: redisPrefix } : { url: null },
      },
      null,
      2,
    ),
  );
  const env: NodeJS.ProcessEnv = { ...process.env, TWOFOLD_CONFIG: configFile };
  for (const name of ['PORT', 'HOST', 'TWOFOLD_DATA_DIR', 'DATABASE_URL', 'REDIS_URL', 'LOG_LEVEL', 'NODE_ENV'])
    delete env[name];

  const config = loadConfig({ env: { TWOFOLD_CONFIG: configFile, LOG_LEVEL: 'silent' }, cwd: process.cwd() });
  const app = await createApp(config);
  let seeded: SeededPeople;
  try {
    await app.migrate();
    seeded = await seedDeployment(app, options);
  } catch (error) {
    await app.close();
    await database?.drop();
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  await app.close();

  const nodes: ServerNode[] = [];
  let count = 0;
  return {
    backend,
    dir,
    issuer,
    seeded,
    argon2: config.passwords.argon2,
    async startNode({ cpus, first = nodes.length === 0 }) {
      const nodePort = first ? port : await freePort();
      const log = openSync(path.join(dir, `node-${++count}.log`), 'a');
      // taskset pins the whole process (its main thread and its threadpool) to the given cores.
      const child = spawn(
        'taskset',
        [
          '-c',
          cpus,
          process.execPath,
          // The flags `npm start`, `twofold serve` and the Docker image start node with.
          '--disable-warning=ExperimentalWarning',
          '--max-semi-space-size=8',
          // BENCH_NODE_FLAGS adds flags to every node (bench/profile.ts: `--cpu-prof`).
          ...(process.env.BENCH_NODE_FLAGS?.split(' ').filter(Boolean) ?? []),
          'src/main.ts',
        ],
        {
          env: { ...env, PORT: String(nodePort), UV_THREADPOOL_SIZE: THREADPOOL_SIZE },
          stdio: ['ignore', log, log],
          cwd: checkout,
        },
      );
      const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
      await waitForPort(nodePort, exited, 60_000);
      const node: ServerNode = {
        pid: child.pid!, // taskset execs node in place: the same pid
        url: new URL(`http://127.0.0.1:${nodePort}`),
        stop: () => stopChild(child, exited),
      };
      nodes.push(node);
      return node;
    },
    async close() {
      await Promise.all(nodes.map((n) => n.stop()));
      await database?.drop();
      if (database) await dropRedisPrefix(redisPrefix);
      // BENCH_KEEP=1 keeps the directory (config, secrets, SQLite file, the nodes' logs) to look at.
      if (process.env.BENCH_KEEP === '1') process.stderr.write(`kept ${dir}\n`);
      else rmSync(dir, { recursive: true, force: true });
    },
  };
}
