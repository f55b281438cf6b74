import { describe, expect, it } from 'vitest';

import { formatMixedLoad, runMixedLoad } from '../../bench/mixed-load.ts';
import type { Backend } from '../helpers/server.ts';

/**
 * The sustained mixed load of issue 11, shortened: sign-ins with password and TOTP (code exchange
 * included), app-password grants, introspection and My Account pages at once, without one error.
 * Speed and memory are the benchmark's to judge (bench/mixed-load.ts); here only correctness.
 */
describe('a mixed load (issue 11)', () => {
  const cases: Array<[Backend, number]> = [
    ['sqlite', 10],
    ['postgres+redis', 6],
  ];
  it.each(cases)('on %s answers every operation as expected', { timeout: 120_000 }, async (backend, seconds) => {
    const result = await runMixedLoad({ seconds, backend, people: 12, concurrency: 8 });
    expect(result.errorSamples, formatMixedLoad(result)).toEqual([]);
    expect(result.errors).toBe(0);
    for (const kind of ['sign-in', 'app-password grant', 'introspection', 'account pages'] as const) {
      expect(result.byKind[kind].count, kind).toBeGreaterThan(0);
    }
    expect(result.rssSamples.length).toBeGreaterThanOrEqual(seconds - 2);
  });
});
