import type { AttemptCounter, AttemptState } from '../ports/attempt-counter.ts';
import type { Clock, Pause } from '../ports/clock.ts';
import { createAddressTurns, PLACE_WINDOW_MS } from './address-turns.ts';

export interface ThrottleRule {
  freeAttempts: number;
  windowSeconds: number;
  maxDelaySeconds: number;
}

/**
 * The keys one attempt is counted under: the targeted account and the client's address, or,
 * for a browser holding a valid device cookie for that account, that device alone.
 */
export interface AttemptKeys {
  account: string;
  ip: string;
  /**
   * A device cookie's id (OWASP "Slow down online guessing attacks with device cookies"): the
   * attempt counts against this device's own budget instead of the account's and the address's,
   * so strangers' failures cannot lock out a browser that signed in before.
   */
  device?: string;
}

/**
 * Brute-force control with growing delays (OWASP Authentication Cheat Sheet, NIST SP 800-63B
 * §3.2.2): after `freeAttempts` failures, each further attempt must wait 2^(n-free) seconds after
 * the last failure, capped at `maxDelaySeconds`. Counters expire, so an attacker can slow a
 * victim's sign-in but never lock the account for good.
 */
export interface Throttle {
  /** Seconds the caller must wait before another attempt; 0 when it may proceed. */
  retryAfter(keys: AttemptKeys): Promise<number>;
  recordFailure(keys: AttemptKeys): Promise<void>;
  /** A success forgives the account's failures (the address keeps its count). */
  recordSuccess(keys: AttemptKeys): Promise<void>;
  /**
   * Runs one attempt for the account at a time, across every node: a concurrent burst cannot
   * all pass the check before the first failure is counted. From one address, no more attempts run
   * at once than its failure budget has room for; the others wait their turn (a busy address is not
   * a failing one: an office behind one NAT signs in one after the other; see address-turns.ts).
   * Resolves to undefined (and runs nothing) while another attempt for the same account is in
   * flight, or when the address's turn did not come in time.
   */
  exclusive<T>(keys: AttemptKeys, attempt: () => Promise<T>): Promise<T | undefined>;
  /**
   * The one guard every verification runs in (password, code, key): one at a time per account,
   * refused while a delay runs, and counted as it came out (a success forgives the account).
   */
  attempt<T extends { ok: boolean }>(keys: AttemptKeys, check: () => Promise<T>): Promise<Attempt<T>>;
  /**
   * The account's own failures (never an address's or a device's), for an administrator: null when
   * none are counted; `slowed` once they are past the free attempts.
   */
  accountState(account: string): Promise<AccountThrottleState | null>;
  /** Forgets the account's failures (an administrator's "clear"); addresses and devices keep theirs. */
  clearAccount(account: string): Promise<void>;
}

export interface AccountThrottleState {
  failures: number;
  slowed: boolean;
  /** Seconds until the next attempt may run; 0 when it may run now. */
  retryAfterSeconds: number;
  /** Seconds until the count is forgotten, unless another failure comes first (the window slides). */
  lapsesInSeconds: number;
}

/**
 * How a guarded attempt went: checked, refused for a delay still running, or refused while another
 * runs. A refusal says whether to `report` it (to the audit trail): the first of a minute for the
 * account is, the rest are not, so that a flood of refused attempts cannot flood the trail too.
 */
export type Attempt<T> =
  | { status: 'checked'; outcome: T }
  | { status: 'wait'; seconds: number; report: boolean }
  | { status: 'busy'; report: boolean };

const REFUSAL_REPORT_WINDOW_MS = 60_000;
export function delayAfter(failures: number, rule: ThrottleRule): number {
  if (failures < rule.freeAttempts) return 0;
  return Math.min(2 ** (failures - rule.freeAttempts), rule.maxDelaySeconds);
}

export function createThrottle(deps: {
  counter: AttemptCounter;
  clock: Clock;
  pause: Pause;
  purpose: string;
  rules: { account: ThrottleRule; ip: ThrottleRule };
}): Throttle {
  const { counter, clock, purpose, rules } = deps;
  const accountKey = (account: string) => `${purpose}:account:${account}`;
  const addressTurns = createAddressTurns({ counter, pause: deps.pause, purpose, freeAttempts: rules.ip.freeAttempts });
  const entries = (keys: AttemptKeys): (readonly [string, ThrottleRule])[] =>
    keys.device !== undefined
      ? [[`${purpose}:device:${keys.device}`, rules.account]]
      : [
          [accountKey(keys.account), rules.account],
          [`${purpose}:ip:${keys.ip}`, rules.ip],
        ];

  const waitOf = (state: AttemptState, rule: ThrottleRule) =>
    Math.max(0, Math.ceil((state.lastAt + delayAfter(state.count, rule) * 1000 - clock.now()) / 1000));

  const throttle: Throttle = {
    async retryAfter(keys) {
      const waits = await Promise.all(
        entries(keys).map(async ([key, rule]) => {
          const state = await counter.peek(key);
          return state ? waitOf(state, rule) : 0;
        }),
      );
      return Math.max(...waits);
    },
    async accountState(account) {
      const state = await counter.peek(accountKey(account));
      if (!state || state.count === 0) return null;
      const slowed = delayAfter(state.count, rules.account) > 0;
      const lapsesAt = state.lastAt + rules.account.windowSeconds * 1000;
      return {
        failures: state.count,
        slowed,
        retryAfterSeconds: waitOf(state, rules.account),
        lapsesInSeconds: Math.max(0, Math.ceil((lapsesAt - clock.now()) / 1000)),
      };
    },
    async clearAccount(account) {
      await counter.clear(accountKey(account));
    },
    async recordFailure(keys) {
      await Promise.all(entries(keys).map(([key, rule]) => counter.increment(key, rule.windowSeconds * 1000)));
    },
    async recordSuccess(keys) {
      await counter.clear(entries(keys)[0]![0]);
    },
    async exclusive(keys, attempt) {
      // A device runs one attempt at a time of its own: strangers' attempts on the account cannot keep it busy.
      const slot =
        keys.device !== undefined
          ? `${purpose}:in-flight-device:${keys.device}`
          : `${purpose}:in-flight:${keys.account}`;
      // Taken atomically; a crashed holder's slot lapses after the window.
      if (!(await counter.acquire(slot, 1, PLACE_WINDOW_MS))) return undefined;
      const usesAddress = keys.device === undefined;
      try {
        if (usesAddress && !(await addressTurns.take(keys.ip))) return undefined;
        try {
          return await attempt();
        } finally {
          if (usesAddress) await addressTurns.give(keys.ip);
        }
      } finally {
        await counter.clear(slot);
      }
    },
    async attempt(keys, check) {
      const result = await throttle.exclusive(keys, async () => {
        const counted = await Promise.all(
          entries(keys).map(async ([key, rule]) => ({ rule, state: await counter.peek(key) })),
        );
        const seconds = Math.max(...counted.map(({ rule, state }) => (state ? waitOf(state, rule) : 0)));
        if (seconds > 0) return { status: 'wait' as const, seconds };
        const outcome = await check();
        // A success forgives the account's (or device's) failures. With none counted there is
        // nothing to forgive: only attempts holding this account's turn (exclusive) count them.
        if (!outcome.ok) await throttle.recordFailure(keys);
        else if (counted[0]!.state) await throttle.recordSuccess(keys);
        return { status: 'checked' as const, outcome };
      });
      if (result?.status === 'checked') return result;
      // Counted per minute of the clock (the counter's own window slides): a flood is reported once a minute.
      const minute = Math.floor(clock.now() / REFUSAL_REPORT_WINDOW_MS);
      const refusals = await counter.increment(
        `${purpose}:refused:${keys.account}:${minute}`,
        REFUSAL_REPORT_WINDOW_MS,
      );
      return { ...(result ?? { status: 'busy' as const }), report: refusals.count === 1 };
    },
  };
  return throttle;
}
