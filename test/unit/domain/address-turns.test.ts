import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { createAddressTurns } from '../../../src/domain/address-turns.ts';
import { createThrottle, type ThrottleRule } from '../../../src/domain/throttle.ts';
import type { AttemptCounter } from '../../../src/ports/attempt-counter.ts';
import { systemPause, type Pause } from '../../../src/ports/clock.ts';
import { createSqlAttemptCounter } from '../../../src/storage/sql/attempt-counter.ts';
import { migrateToLatest, openSqlDatabase, type SqlDatabase } from '../../../src/storage/sql/database.ts';
import { createTestClock } from '../../helpers/clock.ts';

const ACCOUNT: ThrottleRule = { freeAttempts: 3, windowSeconds: 900, maxDelaySeconds: 8 };
const IP: ThrottleRule = { freeAttempts: 5, windowSeconds: 900, maxDelaySeconds: 60 };
const ADDRESS = '203.0.113.50';
/** Waits a hundredth of what is asked: the ten-second bound on a turn passes in a tenth of a second. */
const quickPause: Pause = (ms) => systemPause(ms / 100);
/** Waits fifty times what is asked: no attempt looks again by itself while the test runs, only when woken. */
const slowPause: Pause = (ms) => systemPause(ms * 50);

let sql: SqlDatabase;
let counter: AttemptCounter;
const clock = createTestClock(Date.UTC(2025, 0, 1));

beforeEach(async () => {
  sql = openSqlDatabase({ kind: 'sqlite', filename: ':memory:' });
  await migrateToLatest(sql.db);
  counter = createSqlAttemptCounter(sql.db, clock);
});
afterEach(() => sql.close());

/** A gate the test opens: a check that holds its place until then. */
function gate() {
  let open = () => {};
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { open, opened };
}

describe('turns of a busy address', () => {
  it('correct attempts from an address with one place left all run, one after another, none refused', async () => {
    const throttle = createThrottle({
      counter,
      clock,
      pause: systemPause,
      purpose: 'password',
      rules: { account: ACCOUNT, ip: IP },
    });
    for (let i = 0; i < IP.freeAttempts - 1; i++) await throttle.recordFailure({ account: `other-${i}`, ip: ADDRESS });
    let running = 0;
    let most = 0;
    const attempts = await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        throttle.attempt({ account: `person-${i}`, ip: ADDRESS }, async () => {
          most = Math.max(most, ++running);
          await systemPause(5);
          running--;
          return { ok: true };
        }),
      ),
    );
    expect(attempts.map((a) => a.status)).toEqual(Array(12).fill('checked'));
    // Only one at a time: had they all been wrong, the address would have overshot its budget by none.
    expect(most).toBe(1);
  });

  it('a turn that does not come within the bound is refused as busy, and the place is not lost', async () => {
    const turns = createAddressTurns({ counter, pause: quickPause, purpose: 'password', freeAttempts: 1 });
    expect(await turns.take(ADDRESS)).toBe(true);
    expect(await turns.take(ADDRESS)).toBe(false);
    await turns.give(ADDRESS);
    expect(await turns.take(ADDRESS)).toBe(true);
  });

  it('the line of one address is bounded: beyond it, an attempt is refused at once', async () => {
    const turns = createAddressTurns({ counter, pause: slowPause, purpose: 'password', freeAttempts: 1 });
    expect(await turns.take(ADDRESS)).toBe(true);
    const line = Array.from({ length: 64 }, async () => {
      const taken = await turns.take(ADDRESS);
      if (taken) await turns.give(ADDRESS);
      return taken;
    });
    await systemPause(50);
    const started = Date.now();
    expect(await turns.take(ADDRESS)).toBe(false);
    expect(Date.now() - started).toBeLessThan(1000);
    // The ones in line get the place in turn, each woken as the one before gives it back.
    await turns.give(ADDRESS);
    expect(await Promise.all(line)).toEqual(Array(64).fill(true));
  });

  it('a place given back goes to the attempt waiting longest on this node', async () => {
    const turns = createAddressTurns({ counter, pause: slowPause, purpose: 'password', freeAttempts: 1 });
    expect(await turns.take(ADDRESS)).toBe(true);
    const order: number[] = [];
    const holds = [gate(), gate(), gate()];
    const waiting: Promise<void>[] = [];
    for (const [i, hold] of holds.entries()) {
      waiting.push(
        (async () => {
          await turns.take(ADDRESS);
          order.push(i);
          await hold.opened;
          await turns.give(ADDRESS);
        })(),
      );
      // Each joins the line after the one before.
      await systemPause(20);
    }
    await turns.give(ADDRESS);
    for (const hold of holds) {
      await systemPause(20);
      hold.open();
    }
    await Promise.all(waiting);
    expect(order).toEqual([0, 1, 2]);
  });
});
