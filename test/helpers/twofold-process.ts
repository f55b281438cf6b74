import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { stopChild, waitForPort } from './processes.ts';
import { freePort } from './server.ts';

/** `node src/main.ts` as an operator runs it, on a free port and a data directory of its own. */
export interface TwofoldProcess {
  child: ChildProcess;
  url: string;
  /** Resolves with the exit code once the process has ended. */
  exited: Promise<number | null>;
  output(): string;
  /** SIGTERM (then SIGKILL after 10 s) if still running, and removes the data directory. */
  stop(): Promise<void>;
}

/** Starts the server and resolves once it listens; rejects with its output if it ends first. */
export async function startTwofoldProcess(env: Record<string, string> = {}): Promise<TwofoldProcess> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'twofold-process-'));
  const port = await freePort();
  const child = spawn(process.execPath, ['src/main.ts'], {
    env: { ...process.env, PORT: String(port), HOST: '127.0.0.1', TWOFOLD_DATA_DIR: dataDir, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (chunk) => (output += chunk));
  child.stderr!.on('data', (chunk) => (output += chunk));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  try {
    await waitForPort(port, exited, 30_000);
  } catch (error) {
    child.kill('SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
    throw new Error(`the server did not start (${(error as Error).message}):\n${output}`);
  }
  return {
    child,
    url: `http://127.0.0.1:${port}`,
    exited,
    output: () => output,
    async stop() {
      await stopChild(child, exited);
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
