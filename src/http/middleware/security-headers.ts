import type { Context, Middleware } from 'koa';

/**
 * Headers for every response we render. The CSP allows no inline script or style (pages use one
 * stylesheet and small static scripts only where the browser must act, e.g. WebAuthn).
 * form-action is left open on purpose: after a sign-in form is posted the browser follows
 * redirects to the client's redirect_uri, which form-action would block.
 */
const csp = (imageOrigins: string[]) =>
  [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    ["img-src 'self' data:", ...imageOrigins].join(' '),
    "object-src 'none'",
    "base-uri 'none'",
    "frame-ancestors 'none'",
  ].join('; ');

/** An https origin with a DNS name or IPv4 host: nothing that could end a CSP source list or directive. */
const SAFE_ORIGIN = /^https:\/\/[a-z0-9-]+(\.[a-z0-9-]+)*(:\d{1,5})?$/;

/**
 * Lets this response's page load images from the origin of `url` (an organization's logo in the
 * header): img-src widens by that one origin, on the pages that show it, rather than to every
 * https host on every page, so an injected <img> elsewhere still cannot reach out.
 */
export function allowImageFrom(ctx: Context, url: string): void {
  const origin = URL.parse(url)?.origin ?? '';
  if (!SAFE_ORIGIN.test(origin)) return;
  const origins = (ctx.state.imageOrigins ?? []) as string[];
  if (!origins.includes(origin)) ctx.state.imageOrigins = [...origins, origin];
}

/** A year, the value browsers' preload lists ask for (RFC 6797 §6.1.1). */
const HSTS = 'max-age=31536000; includeSubDomains';

export function securityHeaders(options: {
  authorizationPath: string;
  /** The issuer's URL: when it is https, browsers are told to never use plain http (RFC 6797). */
  issuer?: string;
}): Middleware {
  const https = options.issuer?.startsWith('https:') ?? false;
  return async (ctx, next) => {
    await next();
    if (https) ctx.set('Strict-Transport-Security', HSTS);
    ctx.set('X-Content-Type-Options', 'nosniff');
    ctx.set('Referrer-Policy', 'no-referrer');
    ctx.set('X-Frame-Options', 'DENY');
    ctx.set('Cross-Origin-Opener-Policy', 'same-origin');
    // The authorization endpoint may answer with form_post, whose auto-submit is the provider's.
    if (ctx.path !== options.authorizationPath && ctx.response.is('html')) {
      ctx.set('Content-Security-Policy', csp((ctx.state.imageOrigins ?? []) as string[]));
    }
  };
}
