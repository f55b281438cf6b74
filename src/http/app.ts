import Koa from 'koa';
import compose from 'koa-compose';
import type Provider from 'oidc-provider';
import type { Logger } from 'pino';
import Router from '@koa/router';

import type { Random } from '../ports/random.ts';
import { errorPages } from './middleware/errors.ts';
import { requestLog } from './middleware/request-log.ts';
import { retryAfterUnavailable } from './middleware/retry-after.ts';
import { securityHeaders } from './middleware/security-headers.ts';
import type { RequestContext } from '../ports/request-context.ts';
import type { Views } from '../ports/views.ts';

/** What the app mounts for metrics and traces (src/compose/instrumentation.ts): nothing when both are off. */
export interface HttpInstruments {
  /** Wrap every request: a trace span, a timing. */
  middleware: Koa.Middleware[];
  /** GET /metrics. */
  routes: Router[];
  /** Listens to the provider's own events (token grants). */
  observeProvider(provider: Provider): void;
}

export interface HttpAppDeps {
  provider: Provider;
  /** Each request runs inside it, so the audit trail knows the request an event came from. */
  requestContext: RequestContext;
  /** Metrics and traces, when configured: every request is timed and traced, and /metrics answers. */
  instruments: HttpInstruments;
  routers: Router[];
  views: Views;
  logger: Logger;
  random: Random;
  trustProxy: boolean;
  /** Over https, browsers are told to stay on https (HSTS). */
  issuer: string;
  /** No organization exists yet (the home page says so). */
  setupPending(): Promise<boolean>;
}

/** One method and path our routers answer, as @koa/router holds it (`/interaction/:uid/login`). */
export interface RouteEntry {
  method: string;
  path: string;
}

/** The Koa app and the table of our own routes (the fuzz test walks it, so that a new route is fuzzed too). */
export type HttpApp = Koa & { routes: readonly RouteEntry[] };

/** Every method and path of `routers`, in the order they are tried; HEAD, which GET answers, is left out. */
function routeTable(routers: Router[]): RouteEntry[] {
  return routers.flatMap((router) =>
    router.stack.flatMap((layer) =>
      layer.methods.filter((method) => method !== 'HEAD').map((method) => ({ method, path: String(layer.path) })),
    ),
  );
}

/** The home page: setup pending, or where people manage their account. */
function homeRoutes(views: Views, setupPending: () => Promise<boolean>): Router {
  const router = new Router();
  router.get('/', async (ctx) => {
    ctx.type = 'html';
    ctx.body = await views.render('home', { title: 'Twofold', setupPending: await setupPending() });
  });
  return router;
}

/**
 * What answers when neither our routes nor the provider's matched: the error page in the layout
 * (a title, `lang`, a way home) instead of Koa's plain "Not Found", or JSON for APIs.
 */
function notFound(views: Views): Koa.Middleware {
  return async (ctx) => {
    ctx.status = 404;
    ctx.set('cache-control', 'no-store');
    const description = 'There is no page at this address. Check the link, or start again from the home page.';
    if (ctx.path.startsWith('/api/') || (!ctx.accepts('html') && ctx.accepts('json'))) {
      ctx.body = { error: 'not_found', error_description: description };
      return;
    }
    ctx.type = 'html';
    ctx.body = await views.render('errors/error', { title: 'Page not found', status: 404, error: null, description });
  };
}

/**
 * The Koa application: our pages and endpoints first, then oidc-provider for every protocol
 * route. The provider is composed in place (as koa-mount would) so that request ids, logs and
 * security headers wrap its responses too.
 */
export function createHttpApp(deps: HttpAppDeps): HttpApp {
  const app = new Koa({ proxy: deps.trustProxy });
  // The provider's cookies are signed with its keys; our context must sign and read them alike.
  app.keys = deps.provider.keys;
  const headers = securityHeaders({ authorizationPath: '/auth', issuer: deps.issuer });
  app.use(requestLog({ logger: deps.logger, random: deps.random, context: deps.requestContext }));
  for (const middleware of deps.instruments.middleware) app.use(middleware);
  deps.instruments.observeProvider(deps.provider);
  app.use(headers);
  app.use(retryAfterUnavailable());
  app.silent = true;

  const routers = [...deps.routers, ...deps.instruments.routes, homeRoutes(deps.views, deps.setupPending)];
  const ourStack = compose([
    errorPages({ views: deps.views, logger: deps.logger }),
    ...routers.flatMap((router) => [router.routes(), router.allowedMethods()]),
  ] as Koa.Middleware[]);
  const providerStack = compose(deps.provider.middleware);
  const unmatched = notFound(deps.views);

  app.use(async (ctx, next) => {
    await ourStack(ctx, async () => {
      // Nothing of ours matched: the request belongs to the provider, and past it to no one.
      await providerStack(ctx, () => unmatched(ctx, next));
    });
  });
  return Object.assign(app, { routes: routeTable(routers) });
}
