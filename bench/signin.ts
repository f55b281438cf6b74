/**
 * 1. Sign-in throughput against the hashing ceiling, with the server's main-thread CPU per journey.
 * 3. Latency (p50/p99 at 1, 10 and 50 clients) of sign-in journeys and of a cheap endpoint, and the
 *    server's memory: idle, at peak, and with the seeded sessions plus those the journeys made.
 */
import { argon2Ceiling, THREADPOOL_SIZE } from './lib/children.ts';
import { send } from './lib/http.ts';
import { report, runLoad, type LoadResult, type Row } from './lib/measure.ts';
import { cpuBetween, memory, sampleCpu, type CpuSample } from './lib/proc.ts';
import type { BenchSettings, Target } from './lib/settings.ts';

/** Journeys per second with `inFlight` journeys at once on the target's first node, and its CPU. */
export async function measureJourneys(target: Target, settings: BenchSettings, inFlight: number) {
  const nodes = target.nodes;
  const pick = (worker: number) => nodes[worker % nodes.length]!;
  let before: CpuSample[] = [];
  let after: CpuSample[] | undefined;
  let starvedBefore = 0;
  let starvedAfter: number | undefined;
  const load = await runLoad(settings.seconds, inFlight, (worker) => target.journey(pick(worker)), {
    warmupSeconds: settings.warmupSeconds,
    onWindowStart() {
      before = nodes.map((n) => sampleCpu(n.pid));
      starvedBefore = target.pool.starvedMs;
    },
    onWindowEnd() {
      after = nodes.map((n) => sampleCpu(n.pid));
      starvedAfter = target.pool.starvedMs;
    },
  });
  const cpu = nodes.map((n, i) => cpuBetween(before[i]!, after?.[i] ?? sampleCpu(n.pid)));
  const sum = (key: 'mainMs' | 'threadpoolMs' | 'otherMs') => cpu.reduce((total, c) => total + c[key], 0);
  const per = (ms: number) => (load.completed ? ms / load.completed : Number.NaN);
  return {
    ...load,
    mainMsPerJourney: per(sum('mainMs')),
    threadpoolMsPerJourney: per(sum('threadpoolMs')),
    otherMsPerJourney: per(sum('otherMs')),
    /** Seconds the load generator waited for a person with an unused TOTP step (should be 0). */
    starvedSeconds: ((starvedAfter ?? target.pool.starvedMs) - starvedBefore) / 1000,
  };
}

const errorNote = (load: LoadResult & { firstError?: string; starvedSeconds?: number }) =>
  [
    load.errors ? `${load.errors} errors (first: ${load.firstError})` : '',
    load.starvedSeconds ? `waited ${load.starvedSeconds.toFixed(1)} s for people` : '',
  ]
    .filter(Boolean)
    .join('; ') || undefined;

export async function benchSigninThroughput(target: Target, settings: BenchSettings) {
  const threads = Number(THREADPOOL_SIZE);
  const ceiling = await argon2Ceiling(target.deployment.argon2, { cpus: '0', threads, seconds: settings.seconds });
  // The node has just started: its first few hundred journeys still compile and optimize code
  // (measured: about a third more main-thread CPU per journey). Serve them before measuring.
  await runLoad(settings.quick ? 1 : 10, 8, () => target.journey(target.nodes[0]!));
  const at8 = await measureJourneys(target, settings, 8);
  const at32 = await measureJourneys(target, settings, 32);
  const { memoryCost, timeCost, parallelism } = target.deployment.argon2;
  // The CPU a journey costs outside the hash: the main thread (JavaScript, SQLite, rendering) and
  // V8's helper threads; the threadpool is the argon2 verification (and any other async work).
  const totalMs = at32.mainMsPerJourney + at32.threadpoolMsPerJourney + at32.otherMsPerJourney;
  const rows: Row[] = [
    { name: 'argon2id verifications/s (core 0)', value: ceiling.perSecond, unit: '/s' },
    { name: 'journeys/s, 8 in flight', value: at8.perSecond, unit: '/s', note: errorNote(at8) },
    { name: 'journeys/s, 32 in flight', value: at32.perSecond, unit: '/s', note: errorNote(at32) },
    {
      name: 'ratio to ceiling, 8 in flight',
      value: at8.perSecond / ceiling.perSecond,
      unit: 'x',
      target: { op: '>=', value: 0.8 },
    },
    {
      name: 'ratio to ceiling, 32 in flight',
      value: at32.perSecond / ceiling.perSecond,
      unit: 'x',
      target: { op: '>=', value: 0.8 },
    },
    { name: 'main-thread CPU per journey (8)', value: at8.mainMsPerJourney, unit: 'ms' },
    { name: 'main-thread CPU per journey (32)', value: at32.mainMsPerJourney, unit: 'ms' },
    { name: 'threadpool CPU per journey (hash, 32)', value: at32.threadpoolMsPerJourney, unit: 'ms' },
    { name: 'other threads CPU per journey (GC, 32)', value: at32.otherMsPerJourney, unit: 'ms' },
    { name: 'argon2 CPU per verification', value: ceiling.cpuMsPerVerify, unit: 'ms' },
    {
      name: 'share of journey CPU outside the hash (32)',
      value: (at32.mainMsPerJourney + at32.otherMsPerJourney) / totalMs,
      unit: 'fraction',
      target: { op: '<', value: 0.2 },
    },
  ];
  return report(
    'signin-throughput',
    `1. Sign-in throughput (${target.deployment.backend}, server on core 0 with ${threads} libuv threads, load on core 1; argon2id m=${memoryCost} t=${timeCost} p=${parallelism})`,
    rows,
    { ceiling, at8, at32 },
  );
}

export async function benchLatencyAndMemory(target: Target, settings: BenchSettings, idle: { rssMiB: number }) {
  const node = target.nodes[0]!;
  const discovery = new URL('/.well-known/openid-configuration', node.url);
  const cheap = async () => {
    const reply = await send(discovery);
    if (reply.status !== 200) throw new Error(`discovery answered ${reply.status}`);
  };
  const rows: Row[] = [];
  const results: Record<string, unknown> = {};
  for (const clients of [1, 10, 50]) {
    // A journey under 50 clients can take seconds: its window is the full one, after a full warm-up.
    const journeys = await runLoad(settings.seconds, clients, () => target.journey(node), {
      warmupSeconds: settings.warmupSeconds,
    });
    const discoveries = await runLoad(settings.seconds / 3, clients, cheap, { warmupSeconds: 0.5 });
    results[`clients${clients}`] = { journeys, discoveries };
    rows.push(
      { name: `sign-in journey p50, ${clients} clients`, value: journeys.p50Ms, unit: 'ms' },
      { name: `sign-in journey p99, ${clients} clients`, value: journeys.p99Ms, unit: 'ms', note: errorNote(journeys) },
      { name: `discovery p50, ${clients} clients`, value: discoveries.p50Ms, unit: 'ms' },
      { name: `discovery p99, ${clients} clients`, value: discoveries.p99Ms, unit: 'ms', note: errorNote(discoveries) },
    );
  }
  const now = memory(node.pid);
  const sessions = target.deployment.seeded.sessions + target.journeysDone();
  rows.push(
    { name: 'RSS idle (after start, before load)', value: idle.rssMiB, unit: 'MiB' },
    { name: 'RSS peak (high-water mark)', value: now.peakMiB, unit: 'MiB' },
    {
      name: `RSS with ${sessions} live sessions`,
      value: now.rssMiB,
      unit: 'MiB',
      target: sessions >= 10_000 ? { op: '<', value: 150 } : undefined,
      note: sessions >= 10_000 ? undefined : 'fewer than 10,000 sessions in this run: no target',
    },
  );
  return report('latency-memory', `3. Latency and memory (${target.deployment.backend}, one node on core 0)`, rows, {
    ...results,
    sessions,
    memory: { idleMiB: idle.rssMiB, ...now },
  });
}
