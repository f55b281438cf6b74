import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadConfig, type Config } from '../../src/config/load.ts';
import type { AppOptions } from '../../src/app.ts';
import type { Clock } from '../../src/ports/clock.ts';
import { startServer, type RunningServer } from '../../src/server.ts';
import { createSchema, DATABASE_URL, dropRedisPrefix, REDIS_URL, uniqueName } from './backends.ts';

/** The clock lives in clock.ts; re-exported for suites that take it from here with the server. */
export { createTestClock } from './clock.ts';

export type Backend = 'sqlite' | 'postgres+redis';

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export interface TestEnvironment {
  config: Config;
  cleanup(): Promise<void>;
  options: AppOptions;
}

/** A data directory, and for scale-out a fresh PostgreSQL schema and Redis prefix. */
export async function createTestEnvironment(
  backend: Backend,
  overrides: Record<string, unknown> = {},
  port = 0,
): Promise<TestEnvironment> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'twofold-test-'));
  const env: Record<string, string> = { TWOFOLD_DATA_DIR: dataDir, LOG_LEVEL: 'silent' };
  const options: AppOptions = {};
  let dropSchema = async () => {};
  const prefix = `${uniqueName('twofold')}:`;
  if (backend === 'postgres+redis') {
    const { schema, drop } = await createSchema();
    env.DATABASE_URL = DATABASE_URL;
    env.REDIS_URL = REDIS_URL;
    options.postgresSchema = schema;
    dropSchema = drop;
  }
  const config = loadConfig({
    env,
    cwd: process.cwd(),
    overrides: {
      port,
      issuer: port ? `http://localhost:${port}` : null,
      redis: { keyPrefix: prefix },
      ...overrides,
    } as never,
  });
  return {
    config,
    options,
    async cleanup() {
      await dropSchema();
      if (backend === 'postgres+redis') await dropRedisPrefix(prefix);
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export interface TestServer extends RunningServer {
  issuer: string;
  environment: TestEnvironment;
  close(): Promise<void>;
}

/** Starts the real server on a free port at http://localhost:<port>. */
export async function startTestServer(
  backend: Backend,
  options: { clock?: Clock; overrides?: Record<string, unknown>; app?: AppOptions } = {},
): Promise<TestServer> {
  const port = await freePort();
  const environment = await createTestEnvironment(backend, options.overrides, port);
  const running = await startServer(environment.config, {
    ...environment.options,
    ...options.app,
    clock: options.clock,
  });
  return {
    ...running,
    issuer: environment.config.issuer,
    environment,
    async close() {
      await running.stop();
      await environment.cleanup();
    },
  };
}

/**
 * Another node of `first`'s deployment (scale-out, issue 11): the same PostgreSQL schema, Redis
 * prefix, data directory (so the same secrets) and public issuer, on a port of its own, as a
 * second replica behind a load balancer would be. Closing it leaves the shared stores to `first`.
 */
export async function startSecondNode(first: TestServer, options: { clock?: Clock } = {}): Promise<TestServer> {
  const port = await freePort();
  const config: Config = { ...first.environment.config, port };
  const running = await startServer(config, { ...first.environment.options, clock: options.clock });
  return {
    ...running,
    issuer: first.issuer,
    environment: { ...first.environment, config, cleanup: async () => {} },
    close: () => running.stop(),
  };
}
