import { describe, expect, it } from 'vitest';

import { createInstrumentation } from '../../../src/compose/instrumentation.ts';
import { loadConfig } from '../../../src/config/load.ts';
import type { PasswordHasher } from '../../../src/ports/password-hasher.ts';

const configWith = (env: Record<string, string>) => loadConfig({ env, cwd: process.cwd() });

const hasher: PasswordHasher = {
  hash: async (password) => `hashed:${password}`,
  verify: async (hash, password) => hash === `hashed:${password}`,
  needsRehash: () => false,
};

/** Issue 11: metrics and traces are optional; off, they cost nothing on the hot paths. */
describe('instrumentation', () => {
  it('with metrics and tracing both off, hands back the very stores and hasher it was given', async () => {
    const instruments = await createInstrumentation(configWith({}));
    const store = { findThing: async () => 1 };
    expect(instruments.store('things', store)).toBe(store);
    expect(instruments.hasher(hasher)).toBe(hasher);
    expect(instruments.http.middleware).toEqual([]);
    expect(instruments.http.routes).toEqual([]);
    await instruments.close();
  });

  it('with metrics on, a measured store answers and fails exactly as the store does', async () => {
    const instruments = await createInstrumentation(configWith({ TWOFOLD_METRICS_TOKEN: 'x'.repeat(32) }));
    const failure = new Error('database away');
    const store = instruments.store('things', {
      findThing: async (id: string) => `thing ${id}`,
      countThings: () => 3,
      breakThing: async () => {
        throw failure;
      },
    });
    await expect(store.findThing('a')).resolves.toBe('thing a');
    expect(store.countThings()).toBe(3);
    await expect(store.breakThing()).rejects.toBe(failure);
    const measured = instruments.hasher(hasher);
    expect(await measured.verify(await measured.hash('pw'), 'pw')).toBe(true);
    await instruments.close();
  });
});

describe('tracing configuration', () => {
  it('is off by default', () => {
    expect(configWith({}).tracing).toEqual({ otlpUrl: null, serviceName: 'twofold' });
  });

  it('reads the OpenTelemetry exporter variables as the specification says', () => {
    expect(configWith({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/' }).tracing.otlpUrl).toBe(
      'http://collector:4318/v1/traces',
    );
    const both = configWith({
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318',
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'https://traces.example.com/custom',
      OTEL_SERVICE_NAME: 'idp-eu',
    });
    expect(both.tracing).toEqual({ otlpUrl: 'https://traces.example.com/custom', serviceName: 'idp-eu' });
  });

  it('refuses an endpoint that is not http(s), naming the key', () => {
    expect(() => configWith({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'grpc://collector:4317' })).toThrow(
      /tracing\.otlpUrl/,
    );
  });
});
