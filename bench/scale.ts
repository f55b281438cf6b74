/**
 * 4. Embedded SQLite against PostgreSQL + Redis (the same journeys, one node on core 0, load on
 * core 1), and one node against two on PostgreSQL + Redis, each node pinned to its own core. With
 * two cores, the two-node run has no core left for the load generator: it shares both cores with
 * the nodes (its CPU is small next to a journey's, but not nothing), so the two-node figure is a
 * lower bound; both are also given as a fraction of the argon2 ceiling on the same cores.
 */
import { argon2Ceiling, pinSelf, THREADPOOL_SIZE } from './lib/children.ts';
import { createDeployment } from './lib/deployment.ts';
import { report, type Row } from './lib/measure.ts';
import { targetOf, type BenchSettings } from './lib/settings.ts';
import { measureJourneys } from './signin.ts';

/**
 * Journeys in flight per node: section 1's lighter load (its SQLite figure is compared), which
 * keeps requests from queueing for seconds behind each other on a busy machine.
 */
const PER_NODE = 8;

export async function benchScaleOut(settings: BenchSettings, sqlite: { perSecond: number } | undefined) {
  const deployment = await createDeployment('postgres+redis', {
    people: settings.people,
    sessions: 0,
    logLevel: settings.logLevel,
  });
  try {
    const threads = Number(THREADPOOL_SIZE);
    const oneCore = await argon2Ceiling(deployment.argon2, { cpus: '0', threads, seconds: settings.seconds });
    const twoCores = await argon2Ceiling(deployment.argon2, {
      cpus: '0,1',
      threads: 2 * threads,
      seconds: settings.seconds,
    });
    const first = await deployment.startNode({ cpus: '0' });
    const one = await measureJourneys(targetOf(deployment, [first]), settings, PER_NODE);
    const second = await deployment.startNode({ cpus: '1' });
    await pinSelf('0,1');
    let two;
    try {
      two = await measureJourneys(targetOf(deployment, [first, second]), settings, 2 * PER_NODE);
    } finally {
      await pinSelf('1');
    }
    const rows: Row[] = [
      ...(sqlite ? [{ name: `SQLite, 1 node: journeys/s (${PER_NODE})`, value: sqlite.perSecond, unit: '/s' }] : []),
      { name: `PostgreSQL + Redis, 1 node: journeys/s (${PER_NODE})`, value: one.perSecond, unit: '/s' },
      ...(sqlite ? [{ name: 'PostgreSQL + Redis / SQLite', value: one.perSecond / sqlite.perSecond, unit: 'x' }] : []),
      { name: `PostgreSQL + Redis, 2 nodes: journeys/s (${2 * PER_NODE})`, value: two.perSecond, unit: '/s' },
      {
        name: 'two nodes / one node',
        value: two.perSecond / one.perSecond,
        unit: 'x',
        target: { op: '>', value: 1.6 },
      },
      { name: 'argon2id ceiling, 1 core', value: oneCore.perSecond, unit: '/s' },
      { name: 'argon2id ceiling, 2 cores', value: twoCores.perSecond, unit: '/s' },
      { name: '1 node / 1-core ceiling', value: one.perSecond / oneCore.perSecond, unit: 'x' },
      { name: '2 nodes / 2-core ceiling', value: two.perSecond / twoCores.perSecond, unit: 'x' },
      { name: 'main-thread CPU per journey, 1 node', value: one.mainMsPerJourney, unit: 'ms' },
      {
        name: 'errors',
        value: one.errors + two.errors,
        unit: 'count',
        note: one.firstError ?? two.firstError,
      },
    ];
    return report(
      'scale-out',
      '4. SQLite vs PostgreSQL + Redis, and one node vs two (nodes on cores 0 and 1; load on core 1, then on both)',
      rows,
      { oneCore, twoCores, oneNode: one, twoNodes: two },
    );
  } finally {
    await deployment.close();
  }
}
