import { timingSafeEqual } from 'node:crypto';

import Router from '@koa/router';
import type { Context, Middleware } from 'koa';
import type Provider from 'oidc-provider';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

import type { AuditEvent } from '../ports/stores.ts';

/** Prometheus metrics of one app (issue 11): a registry of its own, no global state. */
export interface Metrics {
  /** Times every request, labelled by route template (never the raw path: ids would explode the label). */
  middleware: Middleware;
  /** Counts a security event of the audit trail: sign-ins and failures per method, step-ups, throttling. */
  recordEvent(event: AuditEvent): void;
  /** Counts a store connection that failed ("database" or "redis"). */
  recordOutage(store: string): void;
  /**
   * The two series of one store operation (made once, when the store is wrapped): observing one
   * then allocates nothing per call. Labels are the store's name and the method's.
   */
  storeOperation(store: string, operation: string): { ok(seconds: number): void; failed(seconds: number): void };
  /** Password hashes started and not yet finished (waiting for a thread of the pool or running). */
  hashes: { started(): void; finished(): void };
  /** Counts the provider's token grants (the legacy password grant among them) by type and outcome. */
  observeProvider(provider: Provider): void;
  /** GET /metrics, answered only with the configured bearer token. */
  routes: Router;
}

/** The grant types the provider is configured for; any other value a client sends counts as "other". */
const GRANT_TYPES = new Set([
  'authorization_code',
  'refresh_token',
  'client_credentials',
  'password',
  'urn:ietf:params:oauth:grant-type:device_code',
]);

type GrantContext = { oidc?: { params?: { grant_type?: unknown } } };
const grantTypeOf = (ctx: GrantContext) => {
  const type = ctx.oidc?.params?.grant_type;
  return typeof type === 'string' && GRANT_TYPES.has(type) ? type : 'other';
};
/** An OAuth error code (RFC 6749 §5.2: a short lowercase word); anything else is not a label. */
const errorCodeOf = (error: unknown) => {
  const code = (error as { error?: unknown } | undefined)?.error;
  return typeof code === 'string' && /^[a-z_]{1,40}$/.test(code) ? code : 'other';
};

/** Labels come from a bounded set: anything a client can invent would grow the series without end. */
const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

/** The label of a request: our router's template, oidc-provider's endpoint name, or "other". */
export function routeOf(ctx: Context): string {
  const matched = (ctx as Context & { _matchedRoute?: string })._matchedRoute;
  if (typeof matched === 'string') return matched;
  const oidcRoute = (ctx as Context & { oidc?: { route?: string } }).oidc?.route;
  return typeof oidcRoute === 'string' ? `oidc:${oidcRoute}` : 'other';
}

/** The method an event is about (sign-ins record it as detail.method), from the server's own vocabulary. */
const methodOf = (event: AuditEvent) =>
  typeof event.detail.method === 'string' ? event.detail.method.slice(0, 40) : 'none';

const sameToken = (given: string, expected: string) => {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
};

export function createMetrics(deps: { token: string }): Metrics {
  const registry = new Registry();
  // Process metrics too: resident memory, heap, event-loop lag, open handles.
  collectDefaultMetrics({ register: registry, prefix: 'twofold_' });
  const requests = new Histogram({
    name: 'twofold_http_request_duration_seconds',
    help: 'HTTP requests by method, route and status, with their duration',
    labelNames: ['method', 'route', 'status'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  const events = new Counter({
    name: 'twofold_security_events_total',
    help: 'Security events of the audit trail (sign-ins and failures per method, step-ups, throttling)',
    labelNames: ['type', 'method'],
    registers: [registry],
  });
  const outages = new Counter({
    name: 'twofold_store_errors_total',
    help: 'Failed store connections',
    labelNames: ['store'],
    registers: [registry],
  });

  const storeOperations = new Histogram({
    name: 'twofold_store_operation_duration_seconds',
    help: 'Store operations (SQL, Redis) by store, operation and outcome, with their duration',
    labelNames: ['store', 'operation', 'outcome'],
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });
  const hashesInFlight = new Gauge({
    name: 'twofold_password_hashes_in_flight',
    help: 'argon2 hashes and verifications started and not yet finished (queued for the thread pool or running)',
    registers: [registry],
  });
  const grants = new Counter({
    name: 'twofold_token_grants_total',
    help: 'Token endpoint grants by grant type and outcome ("success" or the OAuth error code)',
    labelNames: ['grant_type', 'outcome'],
    registers: [registry],
  });

  const routes = new Router();
  routes.get('/metrics', async (ctx) => {
    const match = /^Bearer (\S+)$/.exec(ctx.get('authorization'));
    if (!match || !sameToken(match[1]!, deps.token)) {
      ctx.status = 401;
      ctx.set('WWW-Authenticate', 'Bearer realm="metrics"');
      ctx.body = { error: 'invalid_token', error_description: 'The metrics need the configured bearer token.' };
      return;
    }
    ctx.set('content-type', registry.contentType);
    ctx.set('cache-control', 'no-store');
    ctx.body = await registry.metrics();
  });

  return {
    middleware: async (ctx, next) => {
      const stop = requests.startTimer();
      try {
        await next();
      } finally {
        stop({
          method: METHODS.has(ctx.method) ? ctx.method : 'OTHER',
          route: routeOf(ctx),
          status: String(ctx.status),
        });
      }
    },
    recordEvent: (event) => events.inc({ type: event.type, method: methodOf(event) }),
    recordOutage: (store) => outages.inc({ store }),
    storeOperation(store, operation) {
      const ok = storeOperations.labels({ store, operation, outcome: 'ok' });
      const failed = storeOperations.labels({ store, operation, outcome: 'error' });
      return { ok: (seconds) => ok.observe(seconds), failed: (seconds) => failed.observe(seconds) };
    },
    hashes: { started: () => hashesInFlight.inc(), finished: () => hashesInFlight.dec() },
    observeProvider(provider) {
      provider.on('grant.success', (ctx: GrantContext) =>
        grants.inc({ grant_type: grantTypeOf(ctx), outcome: 'success' }),
      );
      provider.on('grant.error', (ctx: GrantContext, error: unknown) =>
        grants.inc({ grant_type: grantTypeOf(ctx), outcome: errorCodeOf(error) }),
      );
    },
    routes,
  };
}
