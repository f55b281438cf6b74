import {
  ClientClosedError,
  ClientOfflineError,
  ConnectionTimeoutError,
  DisconnectsClientError,
  ErrorReply,
  ReconnectStrategyError,
  SocketClosedUnexpectedlyError,
  SocketTimeoutError,
  TimeoutError,
} from 'redis';

import { StoreUnavailableError } from '../../ports/store-unavailable.ts';

const CONNECTION_ERRORS = [
  ClientClosedError,
  ClientOfflineError,
  ConnectionTimeoutError,
  DisconnectsClientError,
  ReconnectStrategyError,
  SocketClosedUnexpectedlyError,
  SocketTimeoutError,
  TimeoutError,
];

/** Replies by which Redis says it cannot serve now (loading, out of memory, a replica, a cluster failing over). */
const UNAVAILABLE_REPLY = /^(LOADING|BUSY|OOM|READONLY|MASTERDOWN|CLUSTERDOWN|TRYAGAIN|NOREPLICAS|MISCONF)\b/;

/** node-redis refuses a command while its queue is full (commandsQueueMaxLength). */
const QUEUE_FULL = 'The queue is full';

function isOutage(error: unknown): boolean {
  if (error instanceof ErrorReply) return UNAVAILABLE_REPLY.test(error.message);
  return (
    error instanceof Error && (CONNECTION_ERRORS.some((kind) => error instanceof kind) || error.message === QUEUE_FULL)
  );
}

/**
 * Runs one store operation with a deadline. node-redis times out only commands it has not yet
 * written; one written to a stalled server (paused, partitioned) would wait for ever. A reply that
 * comes after the deadline still lands on its own command (node-redis keeps the order), so the
 * connection stays usable once Redis answers again; the operation has already been refused.
 */
async function withDeadline<R>(work: Promise<R>, timeoutMs: number): Promise<R> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new StoreUnavailableError('redis', new Error(`Redis did not answer within ${timeoutMs} ms`))),
      timeoutMs,
    );
  });
  try {
    return await Promise.race([work, deadline]);
  } catch (error) {
    throw isOutage(error) ? new StoreUnavailableError('redis', error) : error;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The same store with every operation bounded in time and every outage reported as
 * StoreUnavailableError (never as "not found"), whatever the operation is.
 */
export function guardRedisStore<T extends object>(store: T, timeoutMs: number): T {
  const guarded = Object.entries(store).map(([name, member]) => [
    name,
    typeof member === 'function'
      ? (...args: unknown[]) => withDeadline((member as (...a: unknown[]) => Promise<unknown>)(...args), timeoutMs)
      : member,
  ]);
  return Object.fromEntries(guarded) as T;
}
