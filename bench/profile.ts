/**
 * Where a sign-in journey's main-thread CPU goes: one SQLite node on core 0 started with
 * `--perf-basic-prof` (so `perf` can name JavaScript functions), journeys from core 1, and after a
 * warm-up `perf record` on the node's main thread only (CPU samples: time the thread waits for the
 * core is not charged to anyone, unlike V8's own profiler). Prints the main thread's CPU per journey
 * and its share per package and per function, as milliseconds per journey.
 *   node bench/profile.ts [--seconds 10] [--in-flight 8] [--top 40] [--load journey|grant|cc]
 * (`grant`: app-password grants at the token endpoint; `cc`: client_credentials grants; the figures
 * are then per grant.)
 * Needs Linux `perf` (package linux-perf) and kernel.perf_event_paranoid <= 2.
 */
import { execFile, spawn } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { parseArgs } from 'node:util';

import { pinSelf } from './lib/children.ts';
import { createDeployment } from './lib/deployment.ts';
import { postForJson } from './lib/http.ts';
import { runLoad } from './lib/measure.ts';
import { cpuBetween, sampleCpu, type CpuSample } from './lib/proc.ts';
import { numberSetting, targetOf } from './lib/settings.ts';

const run = promisify(execFile);
const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '10' },
    'in-flight': { type: 'string', default: '8' },
    top: { type: 'string', default: '40' },
    /** What to send: whole sign-in journeys, app-password grants, or client_credentials grants. */
    load: { type: 'string', default: 'journey' },
    /** Only the main thread's CPU per journey, without perf (and without its overhead). */
    'cpu-only': { type: 'boolean', default: false },
  },
});
const seconds = numberSetting('--seconds', values.seconds);
const inFlight = numberSetting('--in-flight', values['in-flight']);
const top = numberSetting('--top', values.top);

/** The package (or project folder) of a perf symbol: `JS:*name file:///…/node_modules/pkg/…:1:2`. */
function packageOf(symbol: string): string {
  const url = /(file:\/\/\/\S+|node:(?!:)\S+)/.exec(symbol)?.[1];
  if (!url) return symbol.startsWith('JS:') || symbol.startsWith('Builtin:') ? '(V8 builtins)' : '(native)';
  const modules = url.lastIndexOf('node_modules/');
  if (modules >= 0) {
    const rest = url.slice(modules + 'node_modules/'.length).split('/');
    return rest[0]!.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]!;
  }
  if (url.startsWith('node:')) return url.split(':').slice(0, 2).join(':');
  const src = url.indexOf('/src/');
  return src >= 0
    ? url
        .slice(src + 1)
        .split('/')
        .slice(0, 2)
        .join('/')
    : url;
}

await pinSelf('1');
const deployment = await createDeployment('sqlite', { people: 2000, sessions: 0, logLevel: 'info' });
const cpuOnly = values['cpu-only'];
if (!cpuOnly) process.env.BENCH_NODE_FLAGS = `--perf-basic-prof ${process.env.BENCH_NODE_FLAGS ?? ''}`;
const data = path.join(deployment.dir, 'perf.data');
try {
  const node = await deployment.startNode({ cpus: '0' });
  const target = targetOf(deployment, [node]);
  let before: CpuSample | undefined;
  let after: CpuSample | undefined;
  let recorded: Promise<unknown> | undefined;
  const { mail, service, appPassword } = deployment.seeded;
  const token = new URL('/token', node.url);
  const operations: Record<string, () => Promise<void>> = {
    journey: () => target.journey(node),
    grant: async () =>
      void (await postForJson(token, {
        grant_type: 'password',
        username: appPassword.username,
        password: appPassword.password,
        client_id: mail.clientId,
        client_secret: mail.secret,
      })),
    cc: async () =>
      void (await postForJson(token, {
        grant_type: 'client_credentials',
        client_id: service.clientId,
        client_secret: service.secret,
      })),
  };
  const operation = operations[values.load];
  if (!operation) throw new Error(`--load is one of ${Object.keys(operations).join(', ')}`);
  const load = await runLoad(seconds, inFlight, operation, {
    warmupSeconds: 3,
    onWindowStart() {
      before = sampleCpu(node.pid);
      if (cpuOnly) return;
      const perf = spawn(
        'perf',
        ['record', '-g', '-F', '999', '-t', String(node.pid), '-o', data, '--', 'sleep', `${seconds}`],
        {
          stdio: 'ignore',
        },
      );
      recorded = new Promise((resolve) => perf.on('exit', resolve));
    },
    onWindowEnd() {
      after = sampleCpu(node.pid);
    },
  });
  await recorded;
  if (load.errors) process.stderr.write(`${load.errors} errors: ${load.firstError}\n`);
  const mainMs = cpuBetween(before!, after!).mainMs / load.completed;
  if (cpuOnly) {
    process.stdout.write(
      `main thread: ${mainMs.toFixed(2)} ms CPU per journey (${load.completed} journeys in ${seconds} s, ${load.perSecond.toFixed(1)}/s)\n`,
    );
  } else {
    const { stdout } = await run('perf', ['script', '-i', data, '-F', 'ip,sym'], { maxBuffer: 1024 * 1024 * 1024 });
    // Each sample is its call stack, leaf first, then a blank line. A sample is charged to the
    // nearest JavaScript function on its stack (natives it called, SQLite, GC it triggered, the
    // kernel's socket writes), and counted once for every package on its stack (inclusive).
    const owners = new Map<string, number>();
    const ownerPackages = new Map<string, number>();
    const inclusive = new Map<string, number>();
    const inclusiveFunctions = new Map<string, number>();
    const leaves = new Map<string, number>();
    let samples = 0;
    const isJs = (frame: string) => frame.startsWith('JS:');
    const add = (map: Map<string, number>, key: string) => map.set(key, (map.get(key) ?? 0) + 1);
    for (const block of stdout.split(/\n\s*\n/)) {
      const frames = block
        .split('\n')
        .map((line) => /^\s*[0-9a-f]+\s+(.*)$/.exec(line)?.[1]?.trim())
        .filter((f): f is string => Boolean(f));
      if (frames.length === 0) continue;
      samples++;
      const owner = frames.find(isJs) ?? `(no JS) ${frames[0]}`;
      add(owners, owner.replace(/^JS:[*~+^]?/, ''));
      if (process.env.PROFILE_LEAVES_OF && owner.includes(process.env.PROFILE_LEAVES_OF)) {
        // Which natives a function's own time goes to (the frames below it on the stack).
        const below = frames.slice(0, frames.indexOf(owner));
        add(leaves, `leaf ${below[0] ?? '(itself)'}`);
        // and the native path under the function: its first four steps, outermost first
        add(leaves, `path ${below.reverse().slice(2, 7).join(' > ')}`);
      }
      add(ownerPackages, packageOf(owner));
      for (const pkg of new Set(frames.filter(isJs).map(packageOf))) add(inclusive, pkg);
      for (const fn of new Set(frames.filter(isJs).map((f) => f.replace(/^JS:[*~+^]?/, ''))))
        add(inclusiveFunctions, fn);
    }
    const ms = (count: number) => ((count / samples) * mainMs).toFixed(3).padStart(8);
    const table = (map: Map<string, number>) =>
      [...map]
        .sort((a, b) => b[1] - a[1])
        .slice(0, top)
        .map(
          ([name, count]) =>
            `${ms(count)} ms  ${name
              .replace(/file:\/\/\/\S*node_modules\//, '')
              .replace('file:///work/main/', '')
              .slice(0, 140)}`,
        )
        .join('\n');
    process.stdout.write(
      `main thread: ${mainMs.toFixed(2)} ms CPU per journey (${load.completed} journeys in ${seconds} s, ${load.perSecond.toFixed(1)}/s; ${samples} samples)\n\n` +
        `== by package (self: charged to the nearest JavaScript function)\n${table(ownerPackages)}\n\n` +
        `== by package (inclusive: on the stack)\n${table(inclusive)}\n\n` +
        `== by JavaScript function (self, with the natives it called)\n${table(owners)}\n\n` +
        `== by JavaScript function (inclusive)\n${table(inclusiveFunctions)}\n` +
        (leaves.size ? `\n== natives under ${process.env.PROFILE_LEAVES_OF}\n${table(leaves)}\n` : ''),
    );
  }
} finally {
  await deployment.close();
}
