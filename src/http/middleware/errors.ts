import type { Context, Middleware } from 'koa';
import type { Logger } from 'pino';

import { AppError } from '../../domain/errors.ts';
import { StoreUnavailableError } from '../../ports/store-unavailable.ts';
import type { Views } from '../../ports/views.ts';

interface HttpLikeError {
  status?: number;
  statusCode?: number;
  expose?: boolean;
  message?: string;
}

/**
 * Turns what a route throws into a response: an AppError or a 4xx HTTP error as given, a store
 * outage as 503 temporarily_unavailable (RFC 6749 §4.1.2.1), anything else as a 500 without internals.
 */
export function toErrorResponse(error: unknown): {
  status: number;
  code: string;
  message: string;
  fields: Record<string, string>;
} {
  if (error instanceof StoreUnavailableError) {
    return { status: 503, code: error.message, message: error.error_description, fields: {} };
  }
  if (error instanceof AppError) {
    return {
      status: error.status,
      code: error.code,
      message: error.expose ? error.message : 'Something went wrong on our side. Please try again.',
      fields: error.expose ? error.fields : {},
    };
  }
  const e = (error ?? {}) as HttpLikeError;
  const status = e.status ?? e.statusCode ?? 500;
  if (status >= 400 && status < 500 && e.expose !== false) {
    const message = status === 413 ? 'What you sent is too large.' : 'The request could not be understood.';
    return { status, code: status === 413 ? 'too_large' : 'invalid_request', message, fields: {} };
  }
  return {
    status: 500,
    code: 'server_error',
    message: 'Something went wrong on our side. Please try again.',
    fields: {},
  };
}

/**
 * JSON for /api/ paths and for any request that sent JSON (a script: it cannot read an HTML page,
 * whatever its Accept header says); otherwise what the Accept header prefers.
 */
const wantsJson = (ctx: Context) =>
  ctx.path.startsWith('/api/') ||
  Boolean(ctx.is('application/json')) ||
  (!ctx.accepts('html') && Boolean(ctx.accepts('json')));

/** The heading of an error page: a 503 is a moment to wait, not a fault. */
function errorTitle(status: number): string {
  if (status === 503) return 'Briefly unavailable';
  return status >= 500 ? 'Something went wrong' : 'This request cannot be completed';
}

/** The one error boundary for our routes: human pages for people, RFC 6749-style JSON for APIs. */
export function errorPages(deps: { views: Views; logger: Logger }): Middleware {
  return async (ctx, next) => {
    try {
      await next();
    } catch (error) {
      const response = toErrorResponse(error);
      const log = (ctx.state.log as Logger | undefined) ?? deps.logger;
      if (error instanceof StoreUnavailableError) log.warn({ err: error, store: error.store }, 'store unavailable');
      else if (response.status >= 500) log.error({ err: error }, 'unhandled error');
      ctx.status = response.status;
      ctx.set('cache-control', 'no-store');
      if (wantsJson(ctx)) {
        // A script cannot see the page's messages by the fields: they follow the summary, named.
        const fields = Object.entries(response.fields).map(([field, message]) => `${field}: ${message}`);
        ctx.body = { error: response.code, error_description: [response.message, ...fields].join(' ') };
        return;
      }
      ctx.type = 'html';
      ctx.body = await deps.views.render('errors/error', {
        title: errorTitle(response.status),
        status: response.status,
        error: null,
        description: response.message,
      });
    }
  };
}
