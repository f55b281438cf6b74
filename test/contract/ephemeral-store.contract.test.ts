import { describe, expect, it } from 'vitest';

import type { EphemeralStore } from '../../src/ports/ephemeral-store.ts';
import { createRedisEphemeralStore } from '../../src/storage/redis/ephemeral-store.ts';
import { createSqlEphemeralStore } from '../../src/storage/sql/ephemeral-store.ts';
import { uniqueName } from '../helpers/backends.ts';
import {
  describeEachBackend,
  mapBackend,
  redisBackends,
  sqlBackends,
  type Backend,
  type Timeline,
} from './backends.ts';

/**
 * The EphemeralStore contract: SQL (embedded) and Redis (scale-out) keep short-lived values,
 * expire them, and `take` hands a value to exactly one caller however many race for it.
 */
interface Subject extends Timeline {
  store: EphemeralStore;
}

const backends: Backend<Subject>[] = [
  ...sqlBackends().map((backend) =>
    mapBackend(backend, ({ db, clock, elapse }) => ({ store: createSqlEphemeralStore(db, clock), clock, elapse })),
  ),
  ...redisBackends().map((backend) =>
    mapBackend(backend, ({ client, prefix, clock, elapse }) => ({
      store: createRedisEphemeralStore(client, prefix),
      clock,
      elapse,
    })),
  ),
];

const key = () => uniqueName('signin');
const pending = {
  person: { orgId: 'org-1', userId: 'user-1', email: 'alice@example.com' },
  methods: [{ method: 'password', amr: ['pwd'], at: 1 }],
  mfaRequired: true,
  trustDays: 0,
  note: null,
};

describeEachBackend(backends, (subject) => {
  describe('EphemeralStore', () => {
    it('returns what was put, as a copy of the object', async () => {
      const { store } = subject();
      const k = key();
      await store.put(k, pending, 60);
      expect(await store.get(k)).toEqual(pending);
      expect(await store.get(k)).toEqual(pending);
    });

    it('round-trips strings, numbers, booleans and arrays', async () => {
      const { store } = subject();
      for (const value of ['text with "quotes" and ünïcode', 42, 0, false, true, [1, 'two', { three: 3 }]]) {
        const k = key();
        await store.put(k, value, 60);
        expect(await store.get(k)).toEqual(value);
      }
    });

    it('answers undefined for a key never put', async () => {
      const { store } = subject();
      expect(await store.get(key())).toBeUndefined();
      expect(await store.take(key())).toBeUndefined();
    });

    it('put replaces the value under the same key', async () => {
      const { store } = subject();
      const k = key();
      await store.put(k, { challenge: 'first' }, 60);
      await store.put(k, { challenge: 'second' }, 60);
      expect(await store.get(k)).toEqual({ challenge: 'second' });
      expect(await store.take(k)).toEqual({ challenge: 'second' });
      expect(await store.take(k)).toBeUndefined();
    });

    it('take returns the value once, then it is gone', async () => {
      const { store } = subject();
      const k = key();
      await store.put(k, pending, 60);
      expect(await store.take(k)).toEqual(pending);
      expect(await store.take(k)).toBeUndefined();
      expect(await store.get(k)).toBeUndefined();
    });

    it('of 20 concurrent takes exactly one gets the value', async () => {
      const { store } = subject();
      const k = key();
      await store.put(k, { code: '123456' }, 60);
      const results = await Promise.all(Array.from({ length: 20 }, () => store.take<{ code: string }>(k)));
      expect(results.filter((r) => r !== undefined)).toEqual([{ code: '123456' }]);
    });

    it('delete removes a value, and deleting a missing key is harmless', async () => {
      const { store } = subject();
      const k = key();
      await store.put(k, pending, 60);
      await store.delete(k);
      expect(await store.get(k)).toBeUndefined();
      await store.delete(k);
      await store.delete(key());
    });

    it('keys are independent', async () => {
      const { store } = subject();
      const [a, b] = [key(), key()];
      await store.put(a, 'a', 60);
      await store.put(b, 'b', 60);
      await store.delete(a);
      expect(await store.take(b)).toBe('b');
    });

    // Redis expires keys on its own clock, so here a second really passes (once, for every case).
    it('a value lives until its ttl, then neither get nor take sees it; put renews the ttl', async () => {
      const { store, elapse } = subject();
      const [short, renewed, taken] = [key(), key(), key()];
      await store.put(short, pending, 1);
      await store.put(taken, pending, 1);
      await store.put(renewed, 'old', 1);
      await store.put(renewed, 'new', 60);
      await elapse(400);
      expect(await store.get(short)).toEqual(pending);
      await elapse(800);
      expect(await store.get(short)).toBeUndefined();
      expect(await store.take(taken)).toBeUndefined();
      expect(await store.get(renewed)).toBe('new');
    });
  });
});
