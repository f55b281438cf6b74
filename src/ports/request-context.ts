/** What the audit trail and security emails say of the request an event came from. */
export interface RequestInfo {
  ip: string;
  /** The browser's or client's User-Agent header (trimmed), or null when it sent none. */
  userAgent: string | null;
  /** The id in the request's log line and X-Request-Id header. */
  requestId: string;
}

/**
 * The request being served, wherever the call chain is: set once per request by the HTTP layer,
 * read by the audit trail, so no flow has to pass the browser and request id along.
 */
export interface RequestContext {
  /** The current request, or undefined outside one (the CLI, timers). */
  current(): RequestInfo | undefined;
  /** Runs `fn` (and everything it awaits) as part of `info`'s request. */
  run<T>(info: RequestInfo, fn: () => T): T;
}
