import type { Clock } from '../../src/ports/clock.ts';

/** The one clock of the tests: it stands still until a test moves it. */
export interface TestClock extends Clock {
  advance(ms: number): void;
  advanceSeconds(seconds: number): void;
  /** From now on every reading moves time forward by `ms` first (0 stops it): concurrent callers see distinct instants. */
  tickOnRead(ms: number): void;
}

/**
 * A clock at `start` (real time by default; unit and contract tests pin a date far from it so that
 * nothing can read the system clock unnoticed).
 */
export function createTestClock(start = Date.now()): TestClock {
  let now = start;
  let tick = 0;
  return {
    now: () => (now += tick),
    advance: (ms) => void (now += ms),
    advanceSeconds: (seconds) => void (now += seconds * 1000),
    tickOnRead: (ms) => void (tick = ms),
  };
}
