import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { createThrottle, delayAfter, type AttemptKeys, type ThrottleRule } from '../../../src/domain/throttle.ts';
import type { AttemptCounter } from '../../../src/ports/attempt-counter.ts';
import { systemPause } from '../../../src/ports/clock.ts';
import { createSqlAttemptCounter } from '../../../src/storage/sql/attempt-counter.ts';
import { migrateToLatest, openSqlDatabase, type SqlDatabase } from '../../../src/storage/sql/database.ts';
import { createTestClock, type TestClock } from '../../helpers/clock.ts';

const ACCOUNT: ThrottleRule = { freeAttempts: 3, windowSeconds: 900, maxDelaySeconds: 8 };
const IP: ThrottleRule = { freeAttempts: 10, windowSeconds: 900, maxDelaySeconds: 60 };
const keys: AttemptKeys = { account: 'ada@example.com', ip: '203.0.113.7' };

let sql: SqlDatabase;
let counter: AttemptCounter;
let clock: TestClock;

beforeEach(async () => {
  sql = openSqlDatabase({ kind: 'sqlite', filename: ':memory:' });
  await migrateToLatest(sql.db);
  clock = createTestClock(Date.UTC(2025, 0, 1));
  counter = createSqlAttemptCounter(sql.db, clock);
});
afterEach(() => sql.close());

const throttleWith = (rules = { account: ACCOUNT, ip: IP }, purpose = 'password') =>
  createThrottle({ counter, clock, pause: systemPause, purpose, rules });

async function fail(throttle: ReturnType<typeof throttleWith>, times: number, at: AttemptKeys = keys) {
  for (let i = 0; i < times; i++) await throttle.recordFailure(at);
}

describe('delayAfter', () => {
  it('is zero during the free attempts, then doubles from one second up to the cap', () => {
    expect([0, 1, 2, 3, 4, 5, 6, 7, 8, 20].map((n) => delayAfter(n, ACCOUNT))).toEqual([0, 0, 0, 1, 2, 4, 8, 8, 8, 8]);
  });
});

describe('throttle', () => {
  it('lets the free attempts through without delay', async () => {
    const throttle = throttleWith();
    expect(await throttle.retryAfter(keys)).toBe(0);
    await fail(throttle, ACCOUNT.freeAttempts - 1);
    expect(await throttle.retryAfter(keys)).toBe(0);
  });

  it('delays attempts after the free ones by 1, 2, 4 … seconds, capped at maxDelaySeconds', async () => {
    const throttle = throttleWith();
    await fail(throttle, ACCOUNT.freeAttempts - 1);
    const delays: number[] = [];
    for (let i = 0; i < 6; i++) {
      await throttle.recordFailure(keys);
      const wait = await throttle.retryAfter(keys);
      delays.push(wait);
      clock.advanceSeconds(wait);
    }
    expect(delays).toEqual([1, 2, 4, 8, 8, 8]);
  });

  it('allows another attempt once the delay has passed, counting down meanwhile', async () => {
    const throttle = throttleWith();
    await fail(throttle, ACCOUNT.freeAttempts + 2);
    expect(await throttle.retryAfter(keys)).toBe(4);
    clock.advanceSeconds(1.5);
    expect(await throttle.retryAfter(keys)).toBe(3);
    clock.advanceSeconds(2.5);
    expect(await throttle.retryAfter(keys)).toBe(0);
  });

  it('a success forgives the account but not the address', async () => {
    const throttle = throttleWith({ account: ACCOUNT, ip: { ...IP, freeAttempts: 2 } });
    await fail(throttle, 5);
    clock.advanceSeconds(1);
    // Without the success the account would still wait 2^(5-3) - 1 = 3 s.
    await throttle.recordSuccess(keys);
    expect(await throttle.retryAfter({ account: keys.account, ip: '198.51.100.1' })).toBe(0);
    // The address keeps 5 failures against 2 free: 2^3 = 8 s after its last failure.
    expect(await throttle.retryAfter(keys)).toBe(7);
    expect(await throttle.retryAfter({ account: 'grace@example.com', ip: keys.ip })).toBe(7);
  });

  it('a success restarts the free attempts of the account', async () => {
    const throttle = throttleWith();
    await fail(throttle, ACCOUNT.freeAttempts + 1);
    clock.advanceSeconds(2);
    await throttle.recordSuccess(keys);
    await fail(throttle, ACCOUNT.freeAttempts - 1);
    expect(await throttle.retryAfter({ ...keys, ip: '198.51.100.1' })).toBe(0);
  });

  it('never locks for good: counters expire a window after the last failure', async () => {
    const throttle = throttleWith({ account: { ...ACCOUNT, maxDelaySeconds: 900 }, ip: IP });
    await fail(throttle, 40);
    expect(await throttle.retryAfter(keys)).toBe(900);
    clock.advanceSeconds(899);
    expect(await throttle.retryAfter(keys)).toBeGreaterThan(0);
    clock.advanceSeconds(1);
    expect(await throttle.retryAfter(keys)).toBe(0);
  });

  it('starts counting afresh after expiry instead of resuming the old count', async () => {
    const throttle = throttleWith();
    await fail(throttle, 20);
    clock.advanceSeconds(ACCOUNT.windowSeconds);
    await fail(throttle, ACCOUNT.freeAttempts - 1);
    expect(await throttle.retryAfter(keys)).toBe(0);
    await throttle.recordFailure(keys);
    expect(await throttle.retryAfter(keys)).toBe(1);
  });

  it('slides the window: each failure extends the counter by a full window', async () => {
    const throttle = throttleWith();
    await fail(throttle, ACCOUNT.freeAttempts - 1);
    clock.advanceSeconds(ACCOUNT.windowSeconds - 1);
    await throttle.recordFailure(keys);
    expect(await throttle.retryAfter(keys)).toBe(1);
  });

  it('one address guessing across many accounts is limited per address', async () => {
    const throttle = throttleWith();
    for (let i = 0; i < IP.freeAttempts; i++) {
      await throttle.recordFailure({ account: `user${i}@example.com`, ip: keys.ip });
    }
    expect(await throttle.retryAfter({ account: 'fresh@example.com', ip: keys.ip })).toBe(1);
    expect(await throttle.retryAfter({ account: 'fresh@example.com', ip: '198.51.100.1' })).toBe(0);
  });

  it('many addresses guessing one account are limited per account', async () => {
    const throttle = throttleWith();
    for (let i = 0; i < ACCOUNT.freeAttempts; i++) {
      await throttle.recordFailure({ account: keys.account, ip: `198.51.100.${i}` });
    }
    expect(await throttle.retryAfter({ account: keys.account, ip: '192.0.2.1' })).toBe(1);
  });

  it('a concurrent burst of failures is counted in full', async () => {
    const rule = { freeAttempts: 10, windowSeconds: 86_400, maxDelaySeconds: 86_400 };
    const throttle = throttleWith({ account: rule, ip: rule });
    await Promise.all(Array.from({ length: 20 }, () => throttle.recordFailure(keys)));
    // 20 failures against 10 free: 2^(20-10) seconds. Any lost increment would shorten it.
    expect(await throttle.retryAfter(keys)).toBe(1024);
  });

  it('reports the first refused attempt of each minute only: a flood of refusals cannot flood the audit trail', async () => {
    const throttle = throttleWith({ account: { ...ACCOUNT, maxDelaySeconds: 900 }, ip: IP });
    await fail(throttle, ACCOUNT.freeAttempts + 8);
    const refused = async () => {
      const attempt = await throttle.attempt(keys, async () => ({ ok: false }));
      return attempt.status === 'checked' ? 'checked' : attempt.report;
    };
    const flood = [];
    for (let i = 0; i < 5; i++) flood.push(await refused());
    expect(flood).toEqual([true, false, false, false, false]);
    clock.advanceSeconds(60);
    expect([await refused(), await refused()]).toEqual([true, false]);
    expect(await throttle.attempt({ ...keys, account: 'bob@example.com' }, async () => ({ ok: false }))).toEqual({
      status: 'checked',
      outcome: { ok: false },
    });
  });

  it('keeps purposes apart on a shared counter', async () => {
    const password = throttleWith(undefined, 'password');
    const totp = throttleWith(undefined, 'totp');
    await fail(password, ACCOUNT.freeAttempts + 3);
    expect(await password.retryAfter(keys)).toBeGreaterThan(0);
    expect(await totp.retryAfter(keys)).toBe(0);
  });

  it("shows an administrator the account's own failures and clears only those", async () => {
    const throttle = throttleWith();
    expect(await throttle.accountState(keys.account)).toBeNull();
    await fail(throttle, ACCOUNT.freeAttempts - 1);
    expect(await throttle.accountState(keys.account)).toEqual({
      failures: 2,
      slowed: false,
      retryAfterSeconds: 0,
      lapsesInSeconds: 900,
    });
    clock.advanceSeconds(60);
    await fail(throttle, 2);
    clock.advanceSeconds(1);
    expect(await throttle.accountState(keys.account)).toEqual({
      failures: 4,
      slowed: true,
      retryAfterSeconds: 1,
      lapsesInSeconds: 899,
    });
    await fail(throttle, ACCOUNT.freeAttempts + 1, { account: 'bob@example.com', ip: '198.51.100.9' });
    await fail(throttle, IP.freeAttempts, { account: 'carol@example.com', ip: keys.ip });
    await throttle.clearAccount(keys.account);
    expect(await throttle.accountState(keys.account)).toBeNull();
    // Another account and the address keep their counts: clearing forgives nobody else's guesses.
    expect((await throttle.accountState('bob@example.com'))?.slowed).toBe(true);
    expect(await throttle.retryAfter(keys)).toBeGreaterThan(0);
  });
});
