/**
 * Two builds side by side in the same seconds: one SQLite node of this checkout and one of another
 * (`git worktree add ../base HEAD~1`, say), both on core 0, each with its own deployment, and the
 * load generator on core 1 sending journeys to each in turn. On a shared or noisy machine this
 * compares main-thread CPU per journey far more steadily than two runs one after the other.
 *   node bench/compare.ts <other-checkout> [--seconds 15] [--rounds 3] [--in-flight 4] [--other-flags "…"]
 * The other checkout needs its node_modules (a symlink to this one's will do). `--other-flags` adds
 * node flags to the other node only (`node bench/compare.ts . --other-flags=--optimize-for-size`).
 */
import path from 'node:path';
import { parseArgs } from 'node:util';

import { pinSelf } from './lib/children.ts';
import { createDeployment, type Deployment, type ServerNode } from './lib/deployment.ts';
import { runLoad } from './lib/measure.ts';
import { sampleCpu } from './lib/proc.ts';
import { numberSetting, targetOf } from './lib/settings.ts';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    seconds: { type: 'string', default: '15' },
    rounds: { type: 'string', default: '3' },
    'in-flight': { type: 'string', default: '4' },
    'other-flags': { type: 'string', default: '' },
  },
});
const other = positionals[0];
if (!other)
  throw new Error('usage: node bench/compare.ts <other-checkout> [--seconds 15] [--rounds 3] [--in-flight 4]');

const seconds = numberSetting('--seconds', values.seconds);
const rounds = numberSetting('--rounds', values.rounds);
const inFlight = numberSetting('--in-flight', values['in-flight']);

await pinSelf('1');
const deployments: Deployment[] = [];
try {
  const sides: { name: string; node: ServerNode; journey: () => Promise<void>; done: number; mainMs: number }[] = [];
  for (const [name, checkout] of [
    ['this', undefined],
    ['other', path.resolve(other)],
  ] as const) {
    if (name === 'other')
      process.env.BENCH_NODE_FLAGS = `${process.env.BENCH_NODE_FLAGS ?? ''} ${values['other-flags']}`;
    const deployment = await createDeployment('sqlite', { people: 2000, sessions: 0, logLevel: 'info', checkout });
    deployments.push(deployment);
    const node = await deployment.startNode({ cpus: '0' });
    const target = targetOf(deployment, [node]);
    sides.push({ name, node, journey: () => target.journey(node), done: 0, mainMs: 0 });
  }
  for (let round = 1; round <= rounds; round++) {
    const before = sides.map((side) => sampleCpu(side.node.pid).mainMs);
    const counts = sides.map(() => 0);
    let marks: number[] = [];
    // Each worker alternates between the two nodes: both see the same load in the same seconds.
    const load = await runLoad(
      seconds,
      inFlight * 2,
      async (worker) => {
        const side = worker % 2;
        await sides[side]!.journey();
        counts[side]!++;
      },
      {
        warmupSeconds: round === 1 ? 3 : 1,
        onWindowStart: () => {
          marks = sides.map((side) => sampleCpu(side.node.pid).mainMs);
          counts.fill(0);
        },
      },
    );
    const after = sides.map((side) => sampleCpu(side.node.pid).mainMs);
    if (load.errors) process.stderr.write(`${load.errors} errors: ${load.firstError}\n`);
    const perJourney = sides.map((_, i) => (after[i]! - (marks[i] ?? before[i]!)) / counts[i]!);
    process.stdout.write(
      `round ${round}: this ${perJourney[0]!.toFixed(2)} ms, other ${perJourney[1]!.toFixed(2)} ms main-thread CPU per journey ` +
        `(${counts[0]} and ${counts[1]} journeys; this/other ${(perJourney[0]! / perJourney[1]!).toFixed(3)})\n`,
    );
  }
} finally {
  for (const deployment of deployments) await deployment.close();
}
