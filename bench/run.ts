/**
 * `npm run bench`: every benchmark, side by side in one run on this machine, each printing a table
 * and one JSON line; a summary of every ratio with its target ends the run. See bench/README.md.
 *   node bench/run.ts [--quick] [--only=signin,legacy,latency,bare,scale,mixed]
 * BENCH_QUICK=1 is --quick (a smoke run of a few seconds per measurement); BENCH_SECONDS,
 * BENCH_PEOPLE, BENCH_SESSIONS and BENCH_LOG_LEVEL override the defaults.
 */
import { setTimeout as sleep } from 'node:timers/promises';

import { benchAgainstBareProvider } from './bare-provider.ts';
import { benchLegacyGrant } from './legacy-grant.ts';
import { formatMixedLoad, runMixedLoad } from './mixed-load.ts';
import { pinSelf } from './lib/children.ts';
import { createDeployment } from './lib/deployment.ts';
import { memory } from './lib/proc.ts';
import { benchSettings, targetOf, type BenchSettings, type Target } from './lib/settings.ts';
import { DATABASE_URL, postgresAvailable, REDIS_URL, redisAvailable } from '../test/helpers/backends.ts';
import { benchScaleOut } from './scale.ts';
import { benchLatencyAndMemory, benchSigninThroughput } from './signin.ts';

type Section = Record<string, unknown>;

/** Sections run against one SQLite node on core 0 (the embedded mode), in this order. */
interface NodeSection {
  name: string;
  run(target: Target, settings: BenchSettings, context: { idle: { rssMiB: number } }): Promise<Section>;
}

const SQLITE_SECTIONS: NodeSection[] = [
  { name: 'signin', run: (target, settings) => benchSigninThroughput(target, settings) },
  { name: 'legacy', run: (target, settings) => benchLegacyGrant(target, settings) },
  { name: 'bare', run: (target, settings) => benchAgainstBareProvider(target, settings) },
  // The latency section also reads the node's memory: it runs last, after every other load.
  { name: 'latency', run: (target, settings, { idle }) => benchLatencyAndMemory(target, settings, idle) },
];

function selected(argv: string[]): (name: string) => boolean {
  const only = argv.find((a) => a.startsWith('--only='))?.slice('--only='.length);
  if (!only) return () => true;
  const names = new Set(only.split(','));
  return (name) => names.has(name);
}

const settings = benchSettings(process.argv.slice(2), process.env);
const wanted = selected(process.argv.slice(2));
// The load generator gets core 1; every server node and ceiling process is pinned by taskset.
await pinSelf('1');
process.stdout.write(
  `twofold bench (${settings.quick ? 'quick' : 'full'}): ${settings.seconds} s per measurement, ` +
    `${settings.people} people, ${settings.sessions} seeded sessions, log level ${settings.logLevel}\n`,
);
const sections: Section[] = [];
const sqliteSections = SQLITE_SECTIONS.filter((s) => wanted(s.name));
if (sqliteSections.length > 0) {
  const deployment = await createDeployment('sqlite', settings);
  try {
    const node = await deployment.startNode({ cpus: '0' });
    await sleep(1000);
    const idle = memory(node.pid);
    const target = targetOf(deployment, [node]);
    for (const section of sqliteSections) sections.push(await section.run(target, settings, { idle }));
  } finally {
    await deployment.close();
  }
}
if (wanted('scale') && !(postgresAvailable && redisAvailable)) {
  process.stdout.write(`\n== 4. skipped: PostgreSQL (${DATABASE_URL}) or Redis (${REDIS_URL}) does not answer\n`);
} else if (wanted('scale')) {
  const signin = sections.find((s) => s.section === 'signin-throughput') as { at8?: { perSecond: number } } | undefined;
  sections.push(await benchScaleOut(settings, signin?.at8));
}
if (wanted('mixed')) {
  // 6. The sustained mixed load runs its own node in this process (on core 1): a check of zero errors
  // and flat memory over 60 s, not a speed measurement.
  const seconds = settings.quick ? 5 : 60;
  process.stdout.write(
    `\n== 6. Mixed load for ${seconds} s (sign-ins with TOTP, app-password grants, introspection, account pages)\n`,
  );
  const result = await runMixedLoad({ seconds, backend: 'sqlite' });
  process.stdout.write(`${formatMixedLoad(result)}\n`);
  const rows = [
    { name: 'operations that failed', value: result.errors, target: '= 0', met: result.errors === 0 },
    {
      name: 'RSS slope over the second half, MB/min',
      value: Number(result.memory.rssSlopeMbPerMinute.toFixed(1)),
      target: `< ${result.memory.rssLimitMbPerMinute}`,
      met: result.memory.rssSlopeMbPerMinute < result.memory.rssLimitMbPerMinute,
    },
  ];
  const section = {
    section: 'mixed-load',
    rows,
    requests: result.requests,
    byKind: result.byKind,
    memory: result.memory,
  };
  process.stdout.write(`${JSON.stringify(section)}\n`);
  sections.push(section);
}

interface JsonRow {
  name: string;
  value: number | null;
  target?: string;
  met?: boolean;
}
const targets = sections.flatMap((s) =>
  (s.rows as JsonRow[]).filter((r) => r.target).map((r) => ({ section: s.section as string, ...r })),
);
process.stdout.write(
  `\n== Summary: every ratio with its target\n${targets
    .map(
      (r) =>
        `${`${r.section}: ${r.name}`.padEnd(64)} ${String(r.value).padStart(8)}   ${r.target!.padEnd(7)} ${r.met ? 'met' : 'NOT MET'}`,
    )
    .join('\n')}\n${JSON.stringify({ bench: settings.quick ? 'quick' : 'full', summary: targets })}\n`,
);
