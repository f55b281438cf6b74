import { execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';

import type { Config } from '../../src/config/load.ts';
import { stopChild, waitForPort } from '../../test/helpers/processes.ts';
import { freePort } from '../../test/helpers/server.ts';

const run = promisify(execFile);

/** libuv's threadpool size for every server node and ceiling process (Node's default is 4). */
export const THREADPOOL_SIZE = process.env.UV_THREADPOOL_SIZE ?? '4';

/** Pins this process (every thread: the load generator) to `cpus`. */
export async function pinSelf(cpus: string): Promise<void> {
  await run('taskset', ['-a', '-p', '-c', cpus, String(process.pid)]);
}

/**
 * argon2id verifications per second with the server's parameters, in a process pinned to `cpus`
 * with `threads` libuv threads (the server's own threadpool, per node on those cores).
 */
export async function argon2Ceiling(
  argon2: Config['passwords']['argon2'],
  options: { cpus: string; threads: number; seconds: number },
): Promise<{ perSecond: number; cpuMsPerVerify: number }> {
  const { stdout } = await run(
    'taskset',
    [
      '-c',
      options.cpus,
      process.execPath,
      'bench/children/argon2-ceiling.ts',
      JSON.stringify({ ...argon2, seconds: options.seconds, concurrency: options.threads * 8 }),
    ],
    { env: { ...process.env, UV_THREADPOOL_SIZE: String(options.threads) } },
  );
  return JSON.parse(stdout) as { perSecond: number; cpuMsPerVerify: number };
}

/** A bare oidc-provider (bench/children/bare-provider.ts) pinned to `cpus`. */
export async function startBareProvider(
  cpus: string,
  clients: { client_id: string; client_secret: string }[],
): Promise<{ pid: number; url: URL; stop(): Promise<void> }> {
  const port = await freePort();
  const child = spawn(
    'taskset',
    ['-c', cpus, process.execPath, 'bench/children/bare-provider.ts', String(port), JSON.stringify(clients)],
    { env: { ...process.env, UV_THREADPOOL_SIZE: THREADPOOL_SIZE }, stdio: 'ignore' },
  );
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  await waitForPort(port, exited, 30_000);
  return { pid: child.pid!, url: new URL(`http://127.0.0.1:${port}`), stop: () => stopChild(child, exited) };
}
