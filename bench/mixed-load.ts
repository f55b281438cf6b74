/**
 * A sustained mixed load (issue 11): people signing in with password + TOTP (the code exchange
 * included), mail servers using app passwords (grant, then introspection of the token), and
 * people reading My Account, all at once for `seconds`. Any answer other than the expected one is
 * an error; memory is sampled every second and judged flat after warm-up.
 *
 *   node_modules/.bin/node bench/mixed-load.ts --seconds 60 [--backend postgres+redis] [--people 120] [--concurrency 16]
 *
 * The server runs in this process (on SQLite unless told otherwise, throttles raised): the RSS
 * sampled is the server's and the load's together, so a leak in either shows.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { pathToFileURL } from 'node:url';

import type { Agent } from '../test/helpers/agent.ts';
import { discoverRp } from '../test/helpers/rp.ts';
import { enrolTotp, seedClient, seedUser } from '../test/helpers/seed.ts';
import { startTestServer, type Backend, type TestServer } from '../test/helpers/server.ts';
import { expectStatus, firstFree, signIn, signInToAccount, type Person } from './load-people.ts';
import { judgeMemory, type MemoryVerdict } from './memory-trend.ts';

export type LoadKind = 'sign-in' | 'app-password grant' | 'introspection' | 'account pages';

export interface MixedLoadOptions {
  seconds: number;
  backend?: Backend;
  /** People with an authenticator app; each signs in at most once per 30 s time step (RFC 6238 §5.2). */
  people?: number;
  /** Requests in flight at once. */
  concurrency?: number;
  /** Progress lines (the standalone run prints them). */
  log?: (line: string) => void;
}

export interface KindStats {
  count: number;
  errors: number;
  p50Ms: number;
  p99Ms: number;
}

export interface MixedLoadResult {
  seconds: number;
  backend: Backend;
  /** HTTP requests sent (a sign-in journey is several). */
  requests: number;
  /** Operations that did not end as expected (a wrong status, an exception). */
  errors: number;
  errorSamples: string[];
  byKind: Record<LoadKind, KindStats>;
  /** RSS in MB, one sample a second. */
  rssSamples: number[];
  memory: MemoryVerdict;
}

/** The load's fixtures: people with TOTP, the relying party, the mail client, signed-in account browsers. */
async function prepare(server: TestServer, people: number) {
  const app = server.app;
  const rp = await discoverRp(server.issuer, await seedClient(app, { id: 'load-rp', firstParty: true }));
  const mail = await app.services.clients.registerClient({
    clientId: 'load-mail',
    grants: ['password'],
    authMethod: 'client_secret_post',
    introspection: true,
  });
  const persons: Person[] = [];
  await app.services.organizations.createOrganization({ slug: 'load', name: 'Load' });
  // argon2 runs on the thread pool: a few people at a time.
  for (let i = 0; i < people; i += 4) {
    const batch = Array.from({ length: Math.min(4, people - i) }, async (_, j) => {
      const seeded = await seedUser(app, { email: `person${i + j}@load.example`, slug: 'load' });
      const { secret } = await enrolTotp(app, seeded, Date.now());
      return { seeded, secret, lastStep: Math.floor(Date.now() / 30_000), busy: false };
    });
    persons.push(...(await Promise.all(batch)));
  }
  const appPasswords = await Promise.all(
    persons.slice(0, Math.min(8, persons.length)).map(async (p) => {
      const person = { orgId: p.seeded.org.id, userId: p.seeded.user.id, email: p.seeded.user.email };
      const made = await app.services.appPasswords.create(
        person,
        p.seeded.org,
        true,
        { name: 'mail', scopes: ['imap'] },
        '127.0.0.1',
      );
      return { username: p.seeded.user.email, password: made.password };
    }),
  );
  return { rp, mail: { clientId: 'load-mail', secret: mail.secret! }, persons, appPasswords };
}

const ACCOUNT_PAGES = [
  '/account',
  '/account/two-factor',
  '/account/sessions',
  '/account/app-passwords',
  '/account/activity',
];

/** The order operations are taken in: for each visit to My Account and each introspection, two sign-ins and two grants. */
const ROTATION: LoadKind[] = [
  'sign-in',
  'app-password grant',
  'account pages',
  'sign-in',
  'app-password grant',
  'introspection',
];

const percentile = (sorted: number[], p: number) =>
  sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]! : 0;

/** Runs the load; the server starts and stops inside. */
export async function runMixedLoad(options: MixedLoadOptions): Promise<MixedLoadResult> {
  const backend = options.backend ?? 'sqlite';
  const log = options.log ?? (() => {});
  const server = await startTestServer(backend, {
    overrides: {
      throttle: {
        account: { freeAttempts: 10_000, windowSeconds: 60, maxDelaySeconds: 1 },
        ip: { freeAttempts: 10_000, windowSeconds: 60, maxDelaySeconds: 1 },
      },
    },
  });
  try {
    log(`seeding ${options.people ?? 60} people on ${backend}…`);
    const fixtures = await prepare(server, options.people ?? 60);
    const accountBrowsers: Agent[] = [];
    const latencies = new Map<LoadKind, number[]>(ROTATION.map((k) => [k, []]));
    const errorsBy = new Map<LoadKind, number>(ROTATION.map((k) => [k, 0]));
    const errorSamples: string[] = [];
    const tokens: string[] = [];
    let requests = 0;
    const count = () => void requests++;

    const post = (path: string, fields: Record<string, string>) =>
      fetch(`${server.issuer}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams(fields),
      });
    /** Each operation answers what it did: a sign-in with no person free is an app-password grant instead. */
    const operations: Record<LoadKind, () => Promise<LoadKind>> = {
      'sign-in': async () => {
        // The first person with a time step free (finding and taking it happen without a pause between).
        const free = firstFree(fixtures.persons);
        if (!free) return operations['app-password grant']();
        const { person, step } = free;
        person.busy = true;
        try {
          await signIn(fixtures.rp, person, step, count);
        } finally {
          person.busy = false;
        }
        return 'sign-in';
      },
      'app-password grant': async () => {
        const who = fixtures.appPasswords[requests % fixtures.appPasswords.length]!;
        const response = await post('/token', {
          grant_type: 'password',
          ...who,
          client_id: fixtures.mail.clientId,
          client_secret: fixtures.mail.secret,
        });
        count();
        await expectStatus(response, 200, 'app-password grant');
        tokens.push(((await response.json()) as { access_token: string }).access_token);
        if (tokens.length > 64) tokens.shift();
        return 'app-password grant';
      },
      introspection: async () => {
        const token = tokens.at(-1);
        if (!token) return operations['app-password grant']();
        const response = await post('/token/introspection', {
          token,
          client_id: fixtures.mail.clientId,
          client_secret: fixtures.mail.secret,
        });
        count();
        await expectStatus(response, 200, 'introspection');
        if (((await response.json()) as { active: boolean }).active !== true)
          throw new Error('introspection: inactive');
        return 'introspection';
      },
      'account pages': async () => {
        const browser = accountBrowsers[requests % Math.max(1, accountBrowsers.length)];
        if (!browser) return operations['app-password grant']();
        for (const page of ACCOUNT_PAGES) {
          const response = await browser.request(new URL(page, server.issuer));
          count();
          await expectStatus(response, 200, page);
          await response.arrayBuffer();
        }
        return 'account pages';
      },
    };
    // Four people keep a My Account session open the whole run (signed in as a browser would).
    for (const person of fixtures.persons.slice(0, 4)) accountBrowsers.push(await signInToAccount(server, person));

    const gc = exposeGc();
    const rssSamples: number[] = [];
    const heapSamples: number[] = [];
    const sampler = setInterval(() => {
      rssSamples.push(process.memoryUsage().rss / 2 ** 20);
      if (gc && rssSamples.length % 5 === 0) {
        gc();
        heapSamples.push(process.memoryUsage().heapUsed / 2 ** 20);
      }
      if (rssSamples.length % 10 === 0)
        log(
          `${rssSamples.length} s: ${requests} requests, ${[...errorsBy.values()].reduce((a, b) => a + b, 0)} errors, RSS ${rssSamples.at(-1)!.toFixed(0)} MB`,
        );
    }, 1000);
    const deadline = Date.now() + options.seconds * 1000;
    let turn = 0;
    await Promise.all(
      Array.from({ length: options.concurrency ?? 16 }, async () => {
        while (Date.now() < deadline) {
          const kind = ROTATION[turn++ % ROTATION.length]!;
          const started = performance.now();
          try {
            const done = await operations[kind]();
            latencies.get(done)!.push(performance.now() - started);
          } catch (error) {
            errorsBy.set(kind, errorsBy.get(kind)! + 1);
            if (errorSamples.length < 20) errorSamples.push(`${kind}: ${(error as Error).message}`);
          }
        }
      }),
    );
    clearInterval(sampler);
    const byKind = Object.fromEntries(
      ROTATION.filter((k, i) => ROTATION.indexOf(k) === i).map((kind) => {
        const sorted = latencies.get(kind)!.sort((a, b) => a - b);
        return [
          kind,
          {
            count: sorted.length,
            errors: errorsBy.get(kind)!,
            p50Ms: percentile(sorted, 0.5),
            p99Ms: percentile(sorted, 0.99),
          },
        ];
      }),
    ) as Record<LoadKind, KindStats>;
    return {
      seconds: options.seconds,
      backend,
      requests,
      errors: [...errorsBy.values()].reduce((a, b) => a + b, 0),
      errorSamples,
      byKind,
      rssSamples,
      memory: judgeMemory(rssSamples, heapSamples),
    };
  } finally {
    await server.close();
  }
}

/** `gc()` for the heap-after-collection samples, without asking whoever runs this for --expose-gc. */
function exposeGc(): (() => void) | null {
  try {
    setFlagsFromString('--expose-gc');
    return runInNewContext('gc') as () => void;
  } catch {
    return null;
  }
}

/** The table and the JSON of a run. */
export function formatMixedLoad(result: MixedLoadResult): string {
  const rows = Object.entries(result.byKind).map(
    ([kind, s]) =>
      `${kind.padEnd(20)} ${String(s.count).padStart(7)} ${String(s.errors).padStart(7)} ${s.p50Ms.toFixed(1).padStart(8)} ${s.p99Ms.toFixed(1).padStart(8)}`,
  );
  const m = result.memory;
  return [
    `mixed load, ${result.seconds} s on ${result.backend}: ${result.requests} requests, ${result.errors} errors`,
    `${'operation'.padEnd(20)} ${'count'.padStart(7)} ${'errors'.padStart(7)} ${'p50 ms'.padStart(8)} ${'p99 ms'.padStart(8)}`,
    ...rows,
    `RSS ${m.rssStartMb.toFixed(0)} → ${m.rssEndMb.toFixed(0)} MB (peak ${m.rssPeakMb.toFixed(0)}), second-half slope ${m.rssSlopeMbPerMinute.toFixed(1)} MB/min (limit ${m.rssLimitMbPerMinute})`,
    m.heapSlopeMbPerMinute === null
      ? 'heap after GC: not sampled'
      : `heap after GC slope ${m.heapSlopeMbPerMinute.toFixed(1)} MB/min (limit ${m.heapLimitMbPerMinute})`,
    `memory flat: ${m.flat ? 'yes' : 'NO'}`,
    ...result.errorSamples.map((e) => `  error: ${e}`),
  ].join('\n');
}

function argument(name: string): string | undefined {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 ? process.argv[index + 1] : undefined;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const result = await runMixedLoad({
    seconds: Number(argument('seconds') ?? 60),
    backend: (argument('backend') as Backend | undefined) ?? 'sqlite',
    people: argument('people') ? Number(argument('people')) : undefined,
    concurrency: argument('concurrency') ? Number(argument('concurrency')) : undefined,
    log: (line) => console.error(line),
  });
  console.log(formatMixedLoad(result));
  console.log(JSON.stringify({ ...result, rssSamples: result.rssSamples.map((r) => Math.round(r)) }));
  process.exitCode = result.errors === 0 && result.memory.flat ? 0 : 1;
}
