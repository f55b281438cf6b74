import type { Deployment, ServerNode } from './deployment.ts';
import { createJourney, PeoplePool } from './journey.ts';

/** How long each measurement runs: the full run, or a smoke run (BENCH_QUICK=1 or --quick). */
export interface BenchSettings {
  quick: boolean;
  /** Seconds of one measured window, and of the warm-up before it. */
  seconds: number;
  warmupSeconds: number;
  /** People seeded per deployment, and extra sessions seeded into the SQLite deployment. */
  people: number;
  sessions: number;
  logLevel: string;
}

/** A number from the command line or the environment: stops the run with its name when it is not one. */
export function numberSetting(name: string, raw: string | number, { min = 1 } = {}): number {
  const value = Number(raw);
  if (!Number.isFinite(value) || value < min) {
    process.stderr.write(`${name} must be a number of at least ${min} (got "${raw}")\n`);
    process.exit(2);
  }
  return value;
}

export function benchSettings(argv: string[], env: NodeJS.ProcessEnv): BenchSettings {
  const quick = argv.includes('--quick') || env.BENCH_QUICK === '1';
  const seconds = numberSetting('BENCH_SECONDS', env.BENCH_SECONDS ?? (quick ? 2 : 15));
  return {
    quick,
    seconds,
    warmupSeconds: quick ? 0.5 : Math.max(2, seconds / 5),
    people: numberSetting('BENCH_PEOPLE', env.BENCH_PEOPLE ?? (quick ? 200 : 4000)),
    sessions: numberSetting('BENCH_SESSIONS', env.BENCH_SESSIONS ?? (quick ? 500 : 10_000), { min: 0 }),
    // Production's default: every request is logged (to a file in the deployment's directory).
    logLevel: env.BENCH_LOG_LEVEL ?? 'info',
  };
}

/** A running deployment with the load generator's state for it. */
export interface Target {
  deployment: Deployment;
  nodes: ServerNode[];
  pool: PeoplePool;
  /** One whole sign-in journey against `node` (PKCE, password, TOTP, code exchange). */
  journey(node: ServerNode): Promise<void>;
  /** Journeys completed so far (each leaves a signed-in session behind). */
  journeysDone(): number;
}

export function targetOf(deployment: Deployment, nodes: ServerNode[]): Target {
  const pool = new PeoplePool(deployment.seeded.people);
  const journey = createJourney(deployment.seeded, pool);
  let done = 0;
  return {
    deployment,
    nodes,
    pool,
    async journey(node) {
      await journey(node.url, deployment.issuer);
      done++;
    },
    journeysDone: () => done,
  };
}
