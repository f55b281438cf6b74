import { bodyParser } from '@koa/bodyparser';
import type { Middleware } from 'koa';

import { httpErrors } from '../error-codes.ts';

/**
 * A body that cannot be read as sent is the sender's fault, never a 500: the parser's own 4xx
 * (too large, bad JSON, unknown charset) stands, and anything else it throws (a `Content-Encoding:
 * gzip` body that is not gzip fails in zlib, without a status) is a 400.
 */
function refuseUnreadable(error: Error & { status?: number }): never {
  if (error.status !== undefined && error.status >= 400 && error.status < 500) throw error;
  throw httpErrors.raise('invalid_request');
}

/**
 * Parses urlencoded forms for our own routes only (never in front of the provider, which reads
 * its own bodies). Small limit: no form of ours comes near it.
 */
export function formBody(): Middleware {
  return bodyParser({
    enableTypes: ['form'],
    formLimit: '32kb',
    encoding: 'utf-8',
    onError: refuseUnreadable,
  }) as unknown as Middleware;
}

/** JSON bodies for the few browser scripts of ours (WebAuthn); never in front of the provider. */
export function jsonBody(): Middleware {
  return bodyParser({
    enableTypes: ['json'],
    jsonLimit: '64kb',
    encoding: 'utf-8',
    onError: refuseUnreadable,
  }) as unknown as Middleware;
}

/** A form from a page, or JSON from a script, for routes that serve both (the factor routes). */
export function formOrJsonBody(): Middleware {
  return bodyParser({
    enableTypes: ['form', 'json'],
    formLimit: '32kb',
    jsonLimit: '64kb',
    encoding: 'utf-8',
    onError: refuseUnreadable,
  }) as unknown as Middleware;
}
