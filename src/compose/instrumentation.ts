import { createRequire } from 'node:module';

import type { SpanStatus, SpanStatusCode } from '@opentelemetry/api';

import type { Config } from '../config/load.ts';
import type { HttpInstruments } from '../http/app.ts';
import type { Metrics } from '../http/metrics.ts';
import type { PasswordHasher } from '../ports/password-hasher.ts';
import type { AuditEvent } from '../ports/stores.ts';
import type { Storage } from '../storage/open.ts';
import type { Tracing } from './tracing.ts';

/**
 * Metrics (`metrics.token`) and traces (`tracing.otlpUrl`), each optional (issue 11). With both off
 * every wrapper returns what it was given: nothing is timed, nothing is allocated.
 */
export interface Instrumentation {
  recordEvent(event: AuditEvent): void;
  recordOutage(store: string): void;
  /** The storage with its ephemeral stores (provider models, attempt counters, short-lived values) measured. */
  storage(storage: Storage): Storage;
  /** Each store measured under its key's name (`users`, `clients`…), one series per method. */
  stores<T extends Record<string, object>>(stores: T): T;
  store<T extends object>(name: string, store: T): T;
  hasher(hasher: PasswordHasher): PasswordHasher;
  http: HttpInstruments;
  close(): Promise<void>;
}

const { version } = createRequire(import.meta.url)('../../package.json') as { version: string };

type Operation = (...args: unknown[]) => unknown;
const isPromise = (value: unknown): value is Promise<unknown> =>
  typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function';

/** SpanStatusCode.ERROR, written out: the OpenTelemetry packages load only when tracing is on. */
const FAILED: SpanStatus = { code: 2 as SpanStatusCode.ERROR };

type Series = ReturnType<Metrics['storeOperation']> | undefined;
type TraceSpan = ReturnType<Tracing['startChild']>;

function settle(series: Series, span: TraceSpan, started: number, ok: boolean): void {
  const seconds = (performance.now() - started) / 1000;
  if (ok) series?.ok(seconds);
  else series?.failed(seconds);
  if (!span) return;
  if (!ok) span.setStatus(FAILED);
  span.end();
}

/**
 * Times one operation and traces it under the request's span. Everything per operation (its series,
 * its span attributes) is made once here; a call costs a clock read, a span when tracing, and the
 * two callbacks that see its promise settle.
 */
function measure(name: string, operation: Operation, metrics?: Metrics, tracing?: Tracing): Operation {
  const [kind, method] = name.split('.') as [string, string];
  const series = metrics?.storeOperation(kind, method);
  const attributes = { 'twofold.store': kind, 'twofold.operation': method };
  return (...args) => {
    const started = performance.now();
    const span = tracing?.startChild(name, attributes);
    let result: unknown;
    try {
      result = operation(...args);
    } catch (error) {
      settle(series, span, started, false);
      throw error;
    }
    if (!isPromise(result)) {
      settle(series, span, started, true);
      return result;
    }
    return result.then(
      (value) => {
        settle(series, span, started, true);
        return value;
      },
      (error: unknown) => {
        settle(series, span, started, false);
        throw error;
      },
    );
  };
}

/**
 * prom-client and the OpenTelemetry SDK are loaded only when configured: together they weigh tens
 * of megabytes of a node's memory (issue 11), and most deployments turn neither on.
 */
export async function createInstrumentation(config: Config): Promise<Instrumentation> {
  const { token } = config.metrics;
  const metrics = token ? (await import('../http/metrics.ts')).createMetrics({ token }) : undefined;
  const { otlpUrl, serviceName } = config.tracing;
  const tracing = otlpUrl ? (await import('./tracing.ts')).createTracing({ otlpUrl, serviceName, version }) : undefined;
  const on = metrics !== undefined || tracing !== undefined;

  function store<T extends object>(name: string, target: T): T {
    if (!on) return target;
    const entries = Object.entries(target).map(([method, member]) => [
      method,
      typeof member === 'function' ? measure(`${name}.${method}`, member as Operation, metrics, tracing) : member,
    ]);
    return Object.fromEntries(entries) as T;
  }

  function hasher(inner: PasswordHasher): PasswordHasher {
    if (!on) return inner;
    // The gauge counts hashes queued for libuv's thread pool or running on it: sign-ins wait there under load.
    const queued = <A extends unknown[], R>(name: string, work: (...args: A) => Promise<R>) => {
      const measured = measure(name, work as Operation, undefined, tracing) as (...args: A) => Promise<R>;
      return async (...args: A) => {
        metrics?.hashes.started();
        try {
          return await measured(...args);
        } finally {
          metrics?.hashes.finished();
        }
      };
    };
    return { ...inner, hash: queued('password.hash', inner.hash), verify: queued('password.verify', inner.verify) };
  }

  return {
    recordEvent: (event) => metrics?.recordEvent(event),
    recordOutage: (name) => metrics?.recordOutage(name),
    storage: (opened) =>
      on
        ? {
            ...opened,
            models: store('oidc_models', opened.models),
            counter: store('attempt_counter', opened.counter),
            ephemeral: store('ephemeral', opened.ephemeral),
          }
        : opened,
    stores: (all) => Object.fromEntries(Object.entries(all).map(([name, s]) => [name, store(name, s)])) as typeof all,
    store,
    hasher,
    http: {
      middleware: [...(tracing ? [tracing.middleware] : []), ...(metrics ? [metrics.middleware] : [])],
      routes: metrics ? [metrics.routes] : [],
      observeProvider: (provider) => metrics?.observeProvider(provider),
    },
    close: async () => tracing?.close(),
  };
}
