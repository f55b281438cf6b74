/** Load loops, percentiles and the table + JSON line every benchmark section prints. */

export interface LoadResult {
  /** Completed operations per second over the measured window. */
  perSecond: number;
  completed: number;
  errors: number;
  seconds: number;
  p50Ms: number;
  p99Ms: number;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/**
 * Runs `operation` with `concurrency` workers (each starts a new operation as soon as its last one
 * ends: a closed loop) for `warmupSeconds`, then for a measured window of `seconds`, then lets the
 * operations still in flight finish. Only operations that end inside the window count, so the
 * rate is not diluted by the ramp-up or the drain; `hooks` mark the window's edges (to read the
 * server's CPU there). Operations that throw count as errors; the first error's message is kept so
 * that a broken run says why instead of printing a fast rate.
 */
export async function runLoad(
  seconds: number,
  concurrency: number,
  operation: (worker: number) => Promise<void>,
  options: { warmupSeconds?: number; onWindowStart?(): void; onWindowEnd?(): void } = {},
): Promise<LoadResult & { firstError?: string }> {
  const latencies: number[] = [];
  let errors = 0;
  let firstError: string | undefined;
  const windowStart = performance.now() + (options.warmupSeconds ?? 0) * 1000;
  const windowEnd = windowStart + seconds * 1000;
  const edges = [setTimeout(() => options.onWindowEnd?.(), windowEnd - performance.now())];
  if (options.warmupSeconds) edges.push(setTimeout(() => options.onWindowStart?.(), windowStart - performance.now()));
  else options.onWindowStart?.();
  await Promise.all(
    Array.from({ length: concurrency }, async (_, worker) => {
      while (performance.now() < windowEnd) {
        const started = performance.now();
        try {
          await operation(worker);
          const ended = performance.now();
          if (ended >= windowStart && ended <= windowEnd) latencies.push(ended - started);
        } catch (error) {
          errors++;
          firstError ??= (error as Error).message;
          if (errors > 50 && errors > latencies.length) return;
        }
      }
    }),
  );
  edges.forEach(clearTimeout);
  latencies.sort((a, b) => a - b);
  return {
    perSecond: latencies.length / seconds,
    completed: latencies.length,
    errors,
    seconds,
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    ...(firstError ? { firstError } : {}),
  };
}

/**
 * Measures several loads in turn, `rounds` times over, and merges each one's rounds: on a shared
 * machine a burst of someone else's work then falls on every load alike instead of on one of them.
 */
export async function alternate<K extends string>(
  rounds: number,
  /** Each load, given the round (0 first: warm up then, the JIT and caches are cold). */
  loads: Record<K, (round: number) => Promise<LoadResult & { firstError?: string }>>,
): Promise<Record<K, LoadResult & { firstError?: string }>> {
  const results = {} as Record<K, LoadResult & { firstError?: string }>;
  for (let round = 0; round < rounds; round++) {
    for (const key of Object.keys(loads) as K[]) {
      const next = await loads[key](round);
      const last = results[key];
      results[key] = last
        ? {
            perSecond: (last.completed + next.completed) / (last.seconds + next.seconds),
            completed: last.completed + next.completed,
            errors: last.errors + next.errors,
            seconds: last.seconds + next.seconds,
            // Percentiles do not merge: the rounds' worst is kept, as the conservative figure.
            p50Ms: Math.max(last.p50Ms, next.p50Ms),
            p99Ms: Math.max(last.p99Ms, next.p99Ms),
            ...((last.firstError ?? next.firstError) ? { firstError: last.firstError ?? next.firstError } : {}),
          }
        : next;
    }
  }
  return results;
}

/** A row of a section: a measured value, and when it is a ratio, its target. */
export interface Row {
  name: string;
  value: number;
  unit: string;
  target?: { op: '>=' | '>' | '<'; value: number };
  note?: string;
}

export const met = (row: Row): boolean | undefined => {
  if (!row.target || !Number.isFinite(row.value)) return undefined;
  const { op, value } = row.target;
  return op === '>=' ? row.value >= value : op === '>' ? row.value > value : row.value < value;
};

function format(value: number): string {
  if (!Number.isFinite(value)) return 'n/a';
  if (Math.abs(value) >= 100) return value.toFixed(0);
  if (Math.abs(value) >= 10) return value.toFixed(1);
  return value.toFixed(2);
}

/** Prints the section as an aligned table, then one JSON line (`{"section":…,"rows":[…]}`). */
export function report(
  section: string,
  title: string,
  rows: Row[],
  extra: Record<string, unknown> = {},
  out: (text: string) => void = (text) => process.stdout.write(text),
): Record<string, unknown> {
  const width = Math.max(...rows.map((r) => r.name.length), 10);
  const lines = [`\n== ${title}`, `${'measure'.padEnd(width)}  ${'value'.padStart(10)}  unit          target   met`];
  for (const row of rows) {
    const target = row.target ? `${row.target.op} ${row.target.value}` : '';
    const ok = met(row);
    lines.push(
      `${row.name.padEnd(width)}  ${format(row.value).padStart(10)}  ${row.unit.padEnd(12)}  ${target.padStart(7)}  ${ok === undefined ? '' : ok ? 'yes' : 'NO'}${row.note ? `   ${row.note}` : ''}`,
    );
  }
  const json = {
    section,
    rows: rows.map((r) => ({
      name: r.name,
      value: Number.isFinite(r.value) ? Number(r.value.toPrecision(4)) : null,
      unit: r.unit,
      ...(r.target ? { target: `${r.target.op} ${r.target.value}`, met: met(r) } : {}),
    })),
    ...extra,
  };
  out(`${lines.join('\n')}\n${JSON.stringify(json)}\n`);
  return json;
}
