/** The state of one failure counter. `lastAt` is epoch milliseconds. */
export interface AttemptState {
  count: number;
  lastAt: number;
}

/**
 * Counters for brute-force control and budgets, shared by every node (SQL or Redis).
 * Increments are atomic, so concurrent attempts are all counted.
 */
export interface AttemptCounter {
  /**
   * Counts one (a failure, a sent code, an attempt in flight); the counter forgets itself
   * `windowMs` after its last count.
   */
  increment(key: string, windowMs: number): Promise<AttemptState>;
  peek(key: string): Promise<AttemptState | null>;
  /**
   * Counts one only while the count is below `limit`, atomically: true when this call took a
   * place (a slot held while an attempt runs), false, changing nothing (the window included: a
   * slot a crashed holder left behind still lapses), when all `limit` places are taken.
   */
  acquire(key: string, limit: number, windowMs: number): Promise<boolean>;
  /** Takes one back (never below zero), atomically: for slots held while an attempt runs. */
  release(key: string): Promise<void>;
  clear(key: string): Promise<void>;
}
