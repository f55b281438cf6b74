/** Which store did not answer: the durable database (SQLite or PostgreSQL) or Redis. */
export type StoreName = 'database' | 'redis';

/** How long a client is asked to wait before trying again (RFC 9110 §10.2.3 Retry-After). */
export const RETRY_AFTER_SECONDS = 5;

/**
 * A store could not be reached or did not answer in time (a restart, a partition, a stall). Every
 * store implementation throws this for an outage, so the core never reads one as "not found" or
 * "no failures yet": a throttle that cannot be read refuses, a one-time code whose single use cannot
 * be recorded is not accepted, and the request answers 503 with Retry-After.
 *
 * The fields are those of an RFC 6749 §5.2 error response (`error` in `message`, as oidc-provider
 * reads it, and `error_description`) with its HTTP status and `expose`: the provider's own
 * endpoints render it as `503 {"error":"temporarily_unavailable"}` like ours, and never redirect it
 * to a client (`allow_redirect`), so the person sees the page that says to try again.
 */
export class StoreUnavailableError extends Error {
  override name = 'StoreUnavailableError';
  readonly store: StoreName;
  readonly error_description = 'The service is briefly unavailable. Please try again in a few seconds.';
  readonly status = 503;
  readonly statusCode = 503;
  readonly expose = true;
  readonly allow_redirect = false;
  readonly retryAfterSeconds = RETRY_AFTER_SECONDS;

  constructor(store: StoreName, cause: unknown) {
    super('temporarily_unavailable', { cause });
    this.store = store;
  }
}
