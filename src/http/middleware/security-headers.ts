import type { Middleware } from 'koa';

/**
 * Headers for every response we render. The CSP allows no inline script or style (pages use one
 * stylesheet and small static scripts only where the browser must act, e.g. WebAuthn).
 * form-action is left open on purpose: after a sign-in form is posted the browser follows
 * redirects to the client's redirect_uri, which form-action would block.
 */
const CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "object-src 'none'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
].join('; ');

export function securityHeaders(options: { authorizationPath: string }): Middleware {
  return async (ctx, next) => {
    await next();
    ctx.set('X-Content-Type-Options', 'nosniff');
    ctx.set('Referrer-Policy', 'no-referrer');
    ctx.set('X-Frame-Options', 'DENY');
    ctx.set('Cross-Origin-Opener-Policy', 'same-origin');
    // The authorization endpoint may answer with form_post, whose auto-submit is the provider's.
    if (ctx.path !== options.authorizationPath && ctx.response.is('html')) {
      ctx.set('Content-Security-Policy', CSP);
    }
  };
}
