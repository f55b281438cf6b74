/** Wall-clock time, injected so tests can move it (step-up windows, expiries, throttling). */
export interface Clock {
  /** Milliseconds since the Unix epoch. */
  now(): number;
}

export function createSystemClock(): Clock {
  return { now: () => Date.now() };
}

/**
 * Waits without blocking the node (a turn in a queue). Injected like the clock: the domain sets no
 * timers of its own.
 */
export type Pause = (ms: number) => Promise<void>;

/** A pause never keeps the process alive by itself (a stopping server does not wait for one). */
export const systemPause: Pause = (ms) => new Promise((resolve) => setTimeout(resolve, ms).unref());
