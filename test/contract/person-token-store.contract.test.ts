import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';

import type { PersonTokenRecord } from '../../src/ports/person-token-store.ts';
import { createSqlPersonTokenStore } from '../../src/storage/sql/person-token-store.ts';
import { DAY, race, T0, threePeople, type Owner } from '../helpers/factor-stores.ts';
import { describeEachBackend, mapBackend, sqlBackends } from './backends.ts';

/** One-time links and codes (reset, invitation, temporary access) on SQLite and PostgreSQL. */
const backends = sqlBackends().map((backend) =>
  mapBackend(backend, ({ db }) => ({ db, tokens: createSqlPersonTokenStore(db) })),
);

const hash = (n: number) => n.toString(16).padStart(64, '0');

function aToken(owner: Owner, n: number, overrides: Partial<PersonTokenRecord> = {}): PersonTokenRecord {
  return {
    id: randomUUID(),
    orgId: owner.orgId,
    userId: owner.userId,
    purpose: 'password_reset',
    tokenHash: hash(n),
    createdAt: T0,
    expiresAt: T0 + DAY,
    usedAt: null,
    createdBy: null,
    ...overrides,
  };
}

describeEachBackend(backends, (subject) => {
  describe('PersonTokenStore', () => {
    it('finds a live token by hash and spends it once, even under a race', async () => {
      const { db, tokens } = subject();
      const { alice } = await threePeople(db);
      const token = aToken(alice, 1, { createdBy: 'admin@example.com' });
      await tokens.insertPersonToken(token);
      expect(await tokens.findLivePersonToken('password_reset', hash(1), T0)).toEqual(token);
      expect(await tokens.findLivePersonToken('invitation', hash(1), T0)).toBeUndefined();
      const results = await race(5, () => tokens.consumePersonToken('password_reset', hash(1), T0 + 1));
      expect(results.filter((r) => r !== undefined)).toEqual([{ ...token, usedAt: T0 + 1 }]);
      expect(await tokens.findLivePersonToken('password_reset', hash(1), T0 + 2)).toBeUndefined();
    });

    it('an expired token is neither found nor spent', async () => {
      const { db, tokens } = subject();
      const { alice } = await threePeople(db);
      await tokens.insertPersonToken(aToken(alice, 2));
      expect(await tokens.findLivePersonToken('password_reset', hash(2), T0 + DAY)).toBeUndefined();
      expect(await tokens.consumePersonToken('password_reset', hash(2), T0 + DAY)).toBeUndefined();
    });

    it('a new token of the same purpose spends the older ones; other purposes and people keep theirs', async () => {
      const { db, tokens } = subject();
      const { alice, bob } = await threePeople(db);
      await tokens.insertPersonToken(aToken(alice, 3));
      await tokens.insertPersonToken(aToken(alice, 4, { purpose: 'access_code' }));
      await tokens.insertPersonToken(aToken(bob, 5));
      await tokens.insertPersonToken(aToken(alice, 6, { createdAt: T0 + 10 }));
      expect(await tokens.findLivePersonToken('password_reset', hash(3), T0 + 20)).toBeUndefined();
      expect(await tokens.findLivePersonToken('password_reset', hash(6), T0 + 20)).toBeDefined();
      expect(await tokens.findLivePersonToken('access_code', hash(4), T0 + 20)).toBeDefined();
      expect(await tokens.findLivePersonToken('password_reset', hash(5), T0 + 20)).toBeDefined();
      expect(
        (await tokens.findLivePersonTokenOf(alice.orgId, alice.userId, 'password_reset', T0 + 20))?.tokenHash,
      ).toBe(hash(6));
    });

    it("revoking spends one person's live tokens, of one purpose or all, scoped by organization", async () => {
      const { db, tokens } = subject();
      const { alice, carol } = await threePeople(db);
      await tokens.insertPersonToken(aToken(alice, 7));
      await tokens.insertPersonToken(aToken(alice, 8, { purpose: 'access_code' }));
      expect(await tokens.revokePersonTokens(carol.orgId, alice.userId, T0 + 1)).toBe(0);
      expect(await tokens.revokePersonTokens(alice.orgId, alice.userId, T0 + 1, 'access_code')).toBe(1);
      expect(await tokens.findLivePersonToken('password_reset', hash(7), T0 + 2)).toBeDefined();
      expect(await tokens.revokePersonTokens(alice.orgId, alice.userId, T0 + 2)).toBe(1);
      expect(await tokens.findLivePersonToken('password_reset', hash(7), T0 + 3)).toBeUndefined();
    });
  });
});
