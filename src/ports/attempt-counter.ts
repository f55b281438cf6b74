/** The state of one failure counter. `lastAt` is epoch milliseconds. */
export interface AttemptState {
  count: number;
  lastAt: number;
}

/**
 * Failure counters for brute-force control, shared by every node (SQL or Redis).
 * Increments are atomic, so concurrent failures are all counted.
 */
export interface AttemptCounter {
  /** Counts one failure; the counter forgets itself `windowMs` after its last failure. */
  recordFailure(key: string, windowMs: number): Promise<AttemptState>;
  peek(key: string): Promise<AttemptState | null>;
  /** Takes one back (never below zero), atomically: for slots held while an attempt runs. */
  release(key: string): Promise<void>;
  clear(key: string): Promise<void>;
}
