/** Wall-clock time, injected so tests can move it (step-up windows, expiries, throttling). */
export interface Clock {
  /** Milliseconds since the Unix epoch. */
  now(): number;
}

export function createSystemClock(): Clock {
  return { now: () => Date.now() };
}
