import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';

import { IN_CI } from './backends.ts';
import { stopChild, waitForPort } from './processes.ts';

/**
 * A real Redis Cluster for one test file: three `redis-server` masters with cluster mode on, on
 * free loopback ports in a temporary directory, joined by `redis-cli --cluster create`. Issue 11:
 * the scale-out stores must work with Redis Cluster hash slots, so they are tested against one.
 */

const SERVER = '/usr/bin/redis-server';
const CLI = '/usr/bin/redis-cli';
const MASTERS = 3;
/** Redis Cluster talks between nodes on the client port + 10000 (the cluster bus). */
const BUS_OFFSET = 10_000;

const run = promisify(execFile);

export interface RedisCluster {
  /** `redis://127.0.0.1:<port>` of every master. */
  urls: string[];
  ports: number[];
  /**
   * Freezes one master (SIGSTOP: its connections stay open and nothing is answered, as in a stall)
   * and waits until the other masters declare the cluster failed.
   */
  pause(index: number): Promise<void>;
  /** Lets a paused master run again (SIGCONT) and waits until the cluster says ok. */
  resume(index: number): Promise<void>;
  stop(): Promise<void>;
}

/** Why cluster tests are skipped (the binaries are missing), or null; throws under CI instead. */
export function clusterSkipReason(): string | null {
  if (existsSync(SERVER) && existsSync(CLI)) return null;
  if (IN_CI) throw new Error(`CI=true but ${SERVER} or ${CLI} is missing (Redis Cluster tests)`);
  console.warn(`SKIPPED: Redis Cluster tests (${SERVER} or ${CLI} is missing)`);
  return 'redis-server not installed';
}

function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** A port that is free, with its cluster bus port free too. */
async function freePortPair(taken: Set<number>): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = 20_000 + Math.floor(Math.random() * 30_000);
    if (taken.has(port)) continue;
    if ((await portIsFree(port)) && (await portIsFree(port + BUS_OFFSET))) return port;
  }
  throw new Error('no free port pair for a Redis Cluster node');
}

interface Node {
  port: number;
  child: ChildProcess;
  exited: Promise<number | null>;
}

function startNode(dir: string, port: number): Node {
  const child = spawn(
    SERVER,
    [
      '--port', String(port),
      '--bind', '127.0.0.1',
      '--cluster-enabled', 'yes',
      '--cluster-config-file', `nodes-${port}.conf`,
      '--cluster-node-timeout', '2000',
      '--dir', dir,
      '--save', '',
      '--appendonly', 'no',
      '--logfile', path.join(dir, `redis-${port}.log`),
    ], // prettier-ignore
    { stdio: 'ignore' },
  );
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { port, child, exited };
}

async function clusterState(port: number): Promise<string> {
  const { stdout } = await run(CLI, ['-p', String(port), 'cluster', 'info']);
  return /cluster_state:(\w+)/.exec(stdout)?.[1] ?? 'unknown';
}

/** Every node of `ports` reports `cluster_state:<state>` ("ok": all 16384 slots served), within `timeoutMs`. */
async function waitForState(ports: number[], state: 'ok' | 'fail', timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const states = await Promise.all(ports.map((port) => clusterState(port).catch(() => 'down')));
    if (states.every((seen) => seen === state)) return;
    await sleep(100);
  }
  throw new Error(`Redis Cluster on ports ${ports.join(', ')} is not ${state} after ${timeoutMs} ms`);
}

export async function startRedisCluster(): Promise<RedisCluster> {
  const dir = await mkdtemp(path.join(tmpdir(), 'twofold-redis-cluster-'));
  const taken = new Set<number>();
  const nodes: Node[] = [];
  const stop = async () => {
    for (const node of nodes) node.child.kill('SIGCONT');
    await Promise.all(nodes.map((node) => stopChild(node.child, node.exited)));
    await rm(dir, { recursive: true, force: true });
  };
  try {
    for (let i = 0; i < MASTERS; i++) {
      const port = await freePortPair(taken);
      taken.add(port);
      nodes.push(startNode(dir, port));
    }
    await Promise.all(nodes.map((node) => waitForPort(node.port, node.exited, 10_000)));
    const ports = nodes.map((node) => node.port);
    const addresses = ports.map((port) => `127.0.0.1:${port}`);
    await run(CLI, ['--cluster', 'create', ...addresses, '--cluster-replicas', '0', '--cluster-yes']);
    await waitForState(ports, 'ok', 20_000);
    return {
      urls: ports.map((port) => `redis://127.0.0.1:${port}`),
      ports,
      async pause(index) {
        nodes[index]!.child.kill('SIGSTOP');
        // The other masters mark it failed after cluster-node-timeout, and refuse with CLUSTERDOWN.
        await waitForState(
          ports.filter((_, i) => i !== index),
          'fail',
          20_000,
        );
      },
      async resume(index) {
        nodes[index]!.child.kill('SIGCONT');
        await waitForState(ports, 'ok', 20_000);
      },
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
