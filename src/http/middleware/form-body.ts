import { bodyParser } from '@koa/bodyparser';
import type { Middleware } from 'koa';

/**
 * Parses urlencoded forms for our own routes only (never in front of the provider, which reads
 * its own bodies). Small limit: no form of ours comes near it.
 */
export function formBody(): Middleware {
  return bodyParser({ enableTypes: ['form'], formLimit: '32kb', encoding: 'utf-8' }) as unknown as Middleware;
}

/** JSON bodies for the few browser scripts of ours (WebAuthn); never in front of the provider. */
export function jsonBody(): Middleware {
  return bodyParser({ enableTypes: ['json'], jsonLimit: '64kb', encoding: 'utf-8' }) as unknown as Middleware;
}

/** A form from a page, or JSON from a script, for routes that serve both (the factor routes). */
export function formOrJsonBody(): Middleware {
  return bodyParser({
    enableTypes: ['form', 'json'],
    formLimit: '32kb',
    jsonLimit: '64kb',
    encoding: 'utf-8',
  }) as unknown as Middleware;
}
