import { setTimeout as sleep } from 'node:timers/promises';

import {
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type Context as TraceContext,
  type Span,
} from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import type { Middleware } from 'koa';

import { routeOf } from '../http/metrics.ts';

/** OpenTelemetry traces (issue 11), on only when `tracing.otlpUrl` is set. */
export interface Tracing {
  /** One SERVER span per request, a child of the caller's `traceparent` when it sends one. */
  middleware: Middleware;
  /** A span under the current request's span (a store operation, a password hash); none outside a request. */
  startChild(name: string, attributes: Attributes): Span | undefined;
  /** Sends what is still buffered and stops. */
  close(): Promise<void>;
}

/** How long shutdown waits for the last batch of spans to be sent. */
const SHUTDOWN_BOUND_MS = 3000;

/**
 * W3C Trace Context §3.2: `version-traceid-parentid-flags`. Version ff is invalid, as are all-zero
 * ids; version 00 has exactly four fields, later versions may append more.
 */
const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/;

function remoteParent(header: string): TraceContext {
  const match = TRACEPARENT.exec(header.trim());
  if (!match) return ROOT_CONTEXT;
  const [, version, traceId, spanId, flags, rest] = match;
  if (version === 'ff' || (version === '00' && rest !== undefined)) return ROOT_CONTEXT;
  if (/^0+$/.test(traceId!) || /^0+$/.test(spanId!)) return ROOT_CONTEXT;
  // Only the sampled bit is defined (§3.2.2.5); the parent-based sampler follows it.
  return trace.setSpanContext(ROOT_CONTEXT, {
    traceId: traceId!,
    spanId: spanId!,
    traceFlags: parseInt(flags!, 16) & 1,
    isRemote: true,
  });
}

/**
 * Spans go to an OTLP/HTTP collector as JSON, in batches. No global OpenTelemetry state is
 * registered: the request's context is carried by a context manager of this app's own (over
 * AsyncLocalStorage) and children name it as their parent explicitly.
 */
export function createTracing(options: { otlpUrl: string; serviceName: string; version: string }): Tracing {
  const provider = new TracerProvider({
    resource: resourceFromAttributes({ 'service.name': options.serviceName, 'service.version': options.version }),
    spanProcessors: [
      new BatchSpanProcessor({ exporter: new OTLPTraceExporter({ url: options.otlpUrl, timeoutMillis: 10_000 }) }),
    ],
  });
  const tracer = provider.getTracer('twofold', options.version);
  const contexts = new AsyncLocalStorageContextManager().enable();

  return {
    async middleware(ctx, next) {
      const parent = remoteParent(ctx.get('traceparent'));
      const span = tracer.startSpan(
        ctx.method,
        { kind: SpanKind.SERVER, attributes: { 'http.request.method': ctx.method } },
        parent,
      );
      try {
        await contexts.with(trace.setSpan(parent, span), next);
      } finally {
        // The route template, never the raw path: ids and codes stay out of traces (OTel HTTP semconv).
        const route = routeOf(ctx);
        span.updateName(`${ctx.method} ${route}`);
        span.setAttributes({ 'http.route': route, 'http.response.status_code': ctx.status });
        if (ctx.status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
        span.end();
      }
    },
    startChild(name, attributes) {
      const parent = contexts.active();
      if (trace.getSpan(parent) === undefined) return undefined;
      return tracer.startSpan(name, { kind: SpanKind.INTERNAL, attributes }, parent);
    },
    async close() {
      // A collector that does not answer must not hold the node's shutdown (SIGTERM exits within 10 s).
      await Promise.race([provider.shutdown(), sleep(SHUTDOWN_BOUND_MS, undefined, { ref: false })]);
      contexts.disable();
    },
  };
}
