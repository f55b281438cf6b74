import { describe, expect, it } from 'vitest';

import type { AttemptCounter } from '../../src/ports/attempt-counter.ts';
import { createRedisAttemptCounter } from '../../src/storage/redis/attempt-counter.ts';
import { createSqlAttemptCounter } from '../../src/storage/sql/attempt-counter.ts';
import { uniqueName } from '../helpers/backends.ts';
import {
  describeEachBackend,
  mapBackend,
  redisBackends,
  sqlBackends,
  type Backend,
  type Timeline,
} from './backends.ts';

/** The AttemptCounter contract: SQL and Redis count every failure, atomically, within a window. */
interface Subject extends Timeline {
  counter: AttemptCounter;
}

const backends: Backend<Subject>[] = [
  ...sqlBackends().map((backend) =>
    mapBackend(backend, ({ db, clock, elapse }) => ({ counter: createSqlAttemptCounter(db, clock), clock, elapse })),
  ),
  ...redisBackends().map((backend) =>
    mapBackend(backend, ({ client, prefix, clock, elapse }) => ({
      counter: createRedisAttemptCounter(client, prefix, clock),
      clock,
      elapse,
    })),
  ),
];

const HOUR = 3_600_000;
const key = () => uniqueName('login:alice@example.com');

describeEachBackend(backends, (subject) => {
  describe('AttemptCounter', () => {
    it('counts failures up and reports when the last one happened', async () => {
      const { counter, clock } = subject();
      const k = key();
      const first = clock.now();
      expect(await counter.increment(k, HOUR)).toEqual({ count: 1, lastAt: first });
      clock.advance(1000);
      expect(await counter.increment(k, HOUR)).toEqual({ count: 2, lastAt: first + 1000 });
      expect(await counter.peek(k)).toEqual({ count: 2, lastAt: first + 1000 });
    });

    it('peek answers null for a key that never failed', async () => {
      const { counter } = subject();
      expect(await counter.peek(key())).toBeNull();
    });

    it('clear forgets the failures, and counting starts again from one', async () => {
      const { counter } = subject();
      const k = key();
      await counter.increment(k, HOUR);
      await counter.increment(k, HOUR);
      await counter.clear(k);
      expect(await counter.peek(k)).toBeNull();
      expect((await counter.increment(k, HOUR)).count).toBe(1);
    });

    it('a concurrent burst of 50 failures is counted exactly: each call gets its own count', async () => {
      const { counter } = subject();
      const k = key();
      const results = await Promise.all(Array.from({ length: 50 }, () => counter.increment(k, HOUR)));
      const counts = results.map((r) => r.count).sort((a, b) => a - b);
      expect(counts).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
      expect((await counter.peek(k))?.count).toBe(50);
    });

    it('release takes one back atomically and never goes below zero', async () => {
      const { counter } = subject();
      const k = key();
      await Promise.all(Array.from({ length: 10 }, () => counter.increment(k, HOUR)));
      await Promise.all(Array.from({ length: 7 }, () => counter.release(k)));
      expect((await counter.peek(k))?.count).toBe(3);
      await Promise.all(Array.from({ length: 5 }, () => counter.release(k)));
      expect((await counter.peek(k))?.count ?? 0).toBe(0);
      await counter.release(key());
      expect((await counter.increment(k, HOUR)).count).toBe(1);
    });

    it('acquire takes a place only below the limit: a concurrent burst gets exactly that many', async () => {
      const { counter } = subject();
      const k = key();
      const taken = await Promise.all(Array.from({ length: 20 }, () => counter.acquire(k, 3, HOUR)));
      expect(taken.filter(Boolean)).toHaveLength(3);
      expect((await counter.peek(k))?.count).toBe(3);
      await counter.release(k);
      expect(await counter.acquire(k, 3, HOUR)).toBe(true);
      expect(await counter.acquire(k, 3, HOUR)).toBe(false);
    });

    it('a refused acquire leaves the window alone, so places a crashed holder left lapse under load', async () => {
      const { counter, elapse } = subject();
      const k = key();
      expect(await counter.acquire(k, 1, 300)).toBe(true);
      await elapse(200);
      expect(await counter.acquire(k, 1, 300)).toBe(false);
      await elapse(150);
      expect(await counter.acquire(k, 1, 300)).toBe(true);
      expect((await counter.peek(k))?.count).toBe(1);
    });

    it('keys are independent', async () => {
      const { counter } = subject();
      const [a, b] = [key(), key()];
      await counter.increment(a, HOUR);
      await counter.increment(a, HOUR);
      await counter.increment(b, HOUR);
      expect((await counter.peek(a))?.count).toBe(2);
      expect((await counter.peek(b))?.count).toBe(1);
      await counter.clear(a);
      expect((await counter.peek(b))?.count).toBe(1);
    });

    // Redis expires counters on its own clock, so these windows are short and really pass there.
    it('once the window has passed the counter is forgotten and restarts at one', async () => {
      const { counter, elapse } = subject();
      const k = key();
      await counter.increment(k, 100);
      await counter.increment(k, 100);
      await elapse(150);
      expect(await counter.peek(k)).toBeNull();
      expect((await counter.increment(k, 100)).count).toBe(1);
    });

    it('the window runs from the last failure, not the first', async () => {
      const { counter, elapse } = subject();
      const k = key();
      await counter.increment(k, 400);
      await elapse(250);
      await counter.increment(k, 400);
      await elapse(250);
      expect((await counter.peek(k))?.count).toBe(2);
      await elapse(450);
      expect(await counter.peek(k)).toBeNull();
    });
  });
});
