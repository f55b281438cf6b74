import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { createTestClock } from '../helpers/clock.ts';
import { sendRaw } from '../helpers/fuzz/raw-http.ts';
import { enumerateRoutes, runFuzz, startFuzzWorld, type FuzzPlan, type FuzzWorld } from '../helpers/fuzz/runner.ts';
import type { Backend } from '../helpers/server.ts';

/** Fewer routes than this means the walk of the routers broke, not that the app shrank. */
const AT_LEAST_OUR_ROUTES = 110;
const AT_LEAST_PROVIDER_ROUTES = 12;

/**
 * CI's sample: a few whole-request mutations and field mutations per route, chosen by a seeded PRNG
 * (the same requests every run, so a failure replays), plus the field mutations that reach the stores
 * on every field. `FUZZ_EXPLORE=1` sends every mutation of every route (minutes, not CI's budget);
 * `FUZZ_SEED` changes the sample and `FUZZ_BACKEND=postgres+redis` the backend.
 */
const EXPLORE = Boolean(process.env.FUZZ_EXPLORE);
const PLAN: FuzzPlan = {
  seed: Number(process.env.FUZZ_SEED ?? 0x11f022),
  primary: EXPLORE
    ? { request: 1_000, always: [], fields: 10_000 }
    : { request: 5, always: ['NUL bytes', 'missing'], fields: 2 },
  anonymous: EXPLORE ? { request: 1_000, always: [], fields: 0 } : { request: 3, always: [], fields: 0 },
};

describe('fuzz: every route and form field (issue 11)', () => {
  const clock = createTestClock(Date.now() - 3_600_000);
  let world: FuzzWorld;

  beforeAll(async () => {
    world = await startFuzzWorld((process.env.FUZZ_BACKEND as Backend | undefined) ?? 'sqlite', clock);
  }, 60_000);
  afterAll(async () => world?.server.close());

  it('finds every route of ours and of the provider', async () => {
    const routes = await enumerateRoutes(world.server);
    expect(routes.filter((r) => !r.provider).length).toBeGreaterThanOrEqual(AT_LEAST_OUR_ROUTES);
    expect(routes.filter((r) => r.provider).length).toBeGreaterThanOrEqual(AT_LEAST_PROVIDER_ROUTES);
    expect(routes).toContainEqual({ method: 'POST', path: '/interaction/:uid/verify/:kind', provider: false });
    expect(routes).toContainEqual({ method: 'POST', path: '/token', provider: true });
  });

  it('refuses a body that claims gzip but is not with 400, not 500 (found by the fuzz)', async () => {
    const anonymous = await world.states.anonymous();
    const form = await sendRaw(world.port, {
      method: 'POST',
      target: '/forgot-password',
      headers: {
        cookie: anonymous.cookie,
        'content-type': 'application/x-www-form-urlencoded',
        'content-encoding': 'gzip',
      },
      body: Buffer.from(`_csrf=${anonymous.csrf}&email=a%40b.example`),
    });
    expect(form.status).toBe(400);
    expect(form.body.toString()).toContain('The request could not be understood.');
    const json = await sendRaw(world.port, {
      method: 'PUT',
      target: '/api/account/preferred-method',
      headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' },
      body: Buffer.from('{"method_id":"x"}'),
    });
    expect(json.status).toBe(400);
    expect(JSON.parse(json.body.toString())).toMatchObject({ error: 'invalid_request' });
  });

  it(
    'answers every mutation without a 5xx, a hang or a crash',
    { timeout: EXPLORE ? 3_600_000 : 240_000 },
    async () => {
      const result = await runFuzz(world, PLAN);
      console.log(`fuzz: ${result.sent} requests to ${result.routes} routes in ${result.seconds.toFixed(1)} s`);
      if (process.env.FUZZ_REPORT)
        (await import('node:fs')).writeFileSync(process.env.FUZZ_REPORT, result.failures.join('\n'));
      expect(result.failures).toEqual([]);
      // Still up: nothing it was sent ended the process or wedged it.
      expect((await fetch(`${world.server.issuer}/healthz`)).status).toBe(200);
    },
  );
});
