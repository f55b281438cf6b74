import type { Middleware } from 'koa';

import { RETRY_AFTER_SECONDS } from '../../ports/store-unavailable.ts';

/**
 * Every 503 says when to come back (RFC 9110 §10.2.3 and §15.6.4), whoever answered it: our routes,
 * oidc-provider's endpoints (which render a store outage themselves) or /readyz.
 */
export function retryAfterUnavailable(): Middleware {
  return async (ctx, next) => {
    await next();
    if (ctx.status === 503 && !ctx.response.get('retry-after')) ctx.set('retry-after', String(RETRY_AFTER_SECONDS));
  };
}
