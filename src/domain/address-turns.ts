import type { AttemptCounter } from '../ports/attempt-counter.ts';
import type { Pause } from '../ports/clock.ts';

/**
 * The places one address has for attempts in flight at once, across every node: as many as its
 * failure budget has room for (at least one), so that a burst across many accounts cannot
 * overshoot the per-address limit even if every attempt in it fails. Only failures shrink the
 * room. An attempt that finds every place taken waits its turn instead of being refused: a busy
 * address (an office behind one NAT) is not a failing one.
 */
export interface AddressTurns {
  /** Waits for a place; false when none came within MAX_WAIT_MS (the caller refuses as busy). */
  take(ip: string): Promise<boolean>;
  /** Gives the place back and hands it to the next attempt waiting on this node. */
  give(ip: string): Promise<void>;
}

/** A place lapses after this, should its holder crash: longer than any wait plus a check. */
export const PLACE_WINDOW_MS = 30_000;

/**
 * The longest wait for a turn: bounded in time, so the line is bounded in length too (about 200
 * sign-ins at 50 ms a password check while only one place is left), and well inside a browser's
 * patience and the server's 30 s request timeout.
 */
const MAX_WAIT_MS = 10_000;

/**
 * Attempts of one address waiting on one node at most; more are refused as busy at once, so that
 * one address cannot hold an unbounded number of requests (each looking at the count) open.
 */
const MAX_LINE = 64;

/** Between two looks at the shared count: short at first, then slower (other nodes' places free up unannounced). */
const FIRST_LOOK_MS = 10;
const SLOWEST_LOOK_MS = 200;

/** An attempt of this node waiting for a place; `woken` once a place given back here was handed to it. */
interface Waiter {
  wake(): void;
  woken: boolean;
}

export function createAddressTurns(deps: {
  counter: AttemptCounter;
  pause: Pause;
  purpose: string;
  freeAttempts: number;
}): AddressTurns {
  const { counter, pause, purpose } = deps;
  const places = (ip: string) => `${purpose}:in-flight-ip:${ip}`;
  // Attempts of this node waiting for a place, per address, oldest first: a place given back here
  // goes to the oldest at once instead of waiting for its next look.
  const lines = new Map<string, Set<Waiter>>();

  async function tryTake(ip: string): Promise<boolean> {
    const failures = (await counter.peek(`${purpose}:ip:${ip}`))?.count ?? 0;
    const room = Math.max(1, deps.freeAttempts - failures);
    return counter.acquire(places(ip), room, PLACE_WINDOW_MS);
  }

  /** Looks again and again (more slowly, or when woken) until a place is taken or the deadline passes. */
  async function waitInLine(ip: string, me: Waiter): Promise<boolean> {
    let expired = false;
    const deadline = pause(MAX_WAIT_MS).then(() => void (expired = true));
    for (let look = FIRST_LOOK_MS; !expired; look = Math.min(look * 2, SLOWEST_LOOK_MS)) {
      me.woken = false;
      await new Promise<void>((resolve) => {
        me.wake = resolve;
        void Promise.race([pause(look), deadline]).then(resolve);
      });
      if (!expired && (await tryTake(ip))) return true;
    }
    return false;
  }

  return {
    async take(ip) {
      // Behind others already waiting on this node: join the line rather than overtake it.
      if (!lines.has(ip) && (await tryTake(ip))) return true;
      const line = lines.get(ip) ?? new Set<Waiter>();
      if (line.size >= MAX_LINE) return false;
      const me: Waiter = { wake: () => {}, woken: false };
      lines.set(ip, line.add(me));
      try {
        return await waitInLine(ip, me);
      } finally {
        line.delete(me);
        if (line.size === 0) lines.delete(ip);
      }
    },
    async give(ip) {
      await counter.release(places(ip));
      const next = [...(lines.get(ip) ?? [])].find((waiter) => !waiter.woken);
      if (!next) return;
      next.woken = true;
      next.wake();
    },
  };
}
