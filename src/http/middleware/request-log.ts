import type { Middleware } from 'koa';
import type { Logger } from 'pino';

import type { Random } from '../../ports/random.ts';
import type { RequestContext } from '../../ports/request-context.ts';

/** Emailed one-time links carry their secret in the path (`/reset-password/<secret>`): it is logged as `…`. */
const LINK_PATH = /^\/(reset-password|invitation)\/(?!verify(?:\/|$))[^/]+/;
export const loggedPath = (path: string) => path.replace(LINK_PATH, '/$1/…');

/**
 * Gives each request an id (a well-formed incoming X-Request-Id from a load balancer is kept),
 * echoes it, makes it the request context (for the audit trail), and logs one JSON line per request.
 * Only the path is logged (without the secret of an emailed link), never the query string or body:
 * those carry codes, tokens and passwords.
 */
export function requestLog(deps: { logger: Logger; random: Random; context: RequestContext }): Middleware {
  return async (ctx, next) => {
    const incoming = ctx.get('x-request-id');
    const id = /^[A-Za-z0-9._-]{8,128}$/.test(incoming) ? incoming : deps.random.token(12);
    ctx.state.requestId = id;
    ctx.state.log = deps.logger.child({ reqId: id });
    ctx.set('X-Request-Id', id);
    const started = performance.now();
    const userAgent = ctx.get('user-agent').trim().slice(0, 400) || null;
    try {
      await deps.context.run({ ip: ctx.ip, userAgent, requestId: id }, next);
    } finally {
      const ms = Math.round((performance.now() - started) * 10) / 10;
      const line = { method: ctx.method, path: loggedPath(ctx.path), status: ctx.status, ms, ip: ctx.ip };
      if (ctx.status >= 500) ctx.state.log.error(line, 'request failed');
      else ctx.state.log.info(line, 'request');
    }
  };
}
