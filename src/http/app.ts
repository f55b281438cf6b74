import Koa from 'koa';
import compose from 'koa-compose';
import type Provider from 'oidc-provider';
import type { Logger } from 'pino';
import Router from '@koa/router';

import type { Random } from '../ports/random.ts';
import { errorPages } from './middleware/errors.ts';
import { requestLog } from './middleware/request-log.ts';
import { securityHeaders } from './middleware/security-headers.ts';
import type { Views } from '../ports/views.ts';

export interface HttpAppDeps {
  provider: Provider;
  routers: Router[];
  views: Views;
  logger: Logger;
  random: Random;
  trustProxy: boolean;
}

function homeRoutes(views: Views): Router {
  const router = new Router();
  router.get('/', async (ctx) => {
    ctx.type = 'html';
    ctx.body = await views.render('home', { title: 'Twofold' });
  });
  return router;
}

/**
 * The Koa application: our pages and endpoints first, then oidc-provider for every protocol
 * route. The provider is composed in place (as koa-mount would) so that request ids, logs and
 * security headers wrap its responses too.
 */
export function createHttpApp(deps: HttpAppDeps): Koa {
  const app = new Koa({ proxy: deps.trustProxy });
  // The provider's cookies are signed with its keys; our context must sign and read them alike.
  app.keys = deps.provider.keys;
  const headers = securityHeaders({ authorizationPath: '/auth' });
  app.use(requestLog({ logger: deps.logger, random: deps.random }));
  app.use(headers);
  app.silent = true;

  const ourStack = compose([
    errorPages({ views: deps.views, logger: deps.logger }),
    ...[...deps.routers, homeRoutes(deps.views)].flatMap((router) => [router.routes(), router.allowedMethods()]),
  ] as Koa.Middleware[]);
  const providerStack = compose(deps.provider.middleware);

  app.use(async (ctx, next) => {
    await ourStack(ctx, async () => {
      // Nothing of ours matched: the request belongs to the provider.
      await providerStack(ctx, next);
    });
  });
  return app;
}
