import { randomBytes, randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';

import { DuplicateError } from '../../src/ports/stores.ts';
import { aBrowser, aFactor, aKey, factorStoreBackends, race, T0, threePeople, wins } from '../helpers/factor-stores.ts';
import { describeEachBackend } from './backends.ts';

/**
 * The factor store's contract on SQLite and PostgreSQL: scoped, single use, atomic under races.
 * Recovery codes and trusted browsers: recovery-and-trusted-browsers.contract.test.ts.
 */
const backends = factorStoreBackends();

describeEachBackend(backends, (subject) => {
  describe('FactorStore', () => {
    it("finds an inserted factor and lists the person's factors oldest first", async () => {
      const { db, factors } = subject();
      const { alice } = await threePeople(db);
      const key = aKey(alice, { createdAt: T0 + 2000, passkey: true });
      const app = aFactor(alice, { createdAt: T0 + 1000, active: false });
      const phone = aFactor(alice, { kind: 'sms', sealedSecret: null, phone: '+15555550123', createdAt: T0 + 3000 });
      for (const f of [key, app, phone]) await factors.insertFactor(f);
      expect(await factors.findFactor(alice.orgId, alice.userId, key.id)).toEqual(key);
      expect((await factors.findFactors(alice.orgId, alice.userId)).map((f) => f.id)).toEqual([
        app.id,
        key.id,
        phone.id,
      ]);
      expect(await factors.findFactor(alice.orgId, alice.userId, randomUUID())).toBeUndefined();
    });

    it("never returns another person's or another organization's factor", async () => {
      const { db, factors } = subject();
      const { alice, bob, carol } = await threePeople(db);
      const factor = aFactor(alice);
      await factors.insertFactor(factor);
      expect(await factors.findFactor(bob.orgId, bob.userId, factor.id)).toBeUndefined();
      expect(await factors.findFactor(carol.orgId, alice.userId, factor.id)).toBeUndefined();
      expect(await factors.findFactors(bob.orgId, bob.userId)).toEqual([]);
      expect(await factors.findFactors(carol.orgId, alice.userId)).toEqual([]);
    });

    it("lists the active factors of an organization's people, and no other organization's", async () => {
      const { db, factors } = subject();
      const { alice, bob, carol } = await threePeople(db);
      const alices = aFactor(alice, { createdAt: T0 + 1000 });
      const bobs = aFactor(bob, { createdAt: T0 + 2000 });
      for (const f of [bobs, alices, aFactor(alice, { active: false }), aFactor(carol)]) await factors.insertFactor(f);
      expect((await factors.findActiveFactorsOfOrganization(alice.orgId)).map((f) => f.id)).toEqual([
        alices.id,
        bobs.id,
      ]);
    });

    it('says whether the person has an active factor (an unfinished enrolment does not count)', async () => {
      const { db, factors } = subject();
      const { alice, bob, carol } = await threePeople(db);
      const pending = aFactor(alice, { active: false });
      await factors.insertFactor(pending);
      expect(await factors.hasActiveFactor(alice.orgId, alice.userId)).toBe(false);
      await factors.activateFactor(alice.orgId, alice.userId, pending.id, T0);
      expect(await factors.hasActiveFactor(alice.orgId, alice.userId)).toBe(true);
      expect(await factors.hasActiveFactor(bob.orgId, bob.userId)).toBe(false);
      expect(await factors.hasActiveFactor(carol.orgId, alice.userId)).toBe(false);
    });

    it('with the wrong organization or person, activate, delete, accept a step and advance a counter change nothing', async () => {
      const { db, factors } = subject();
      const { alice, bob, carol } = await threePeople(db);
      const app = aFactor(alice, { active: false });
      const key = aKey(alice, { counter: 5 });
      await factors.insertFactor(app);
      await factors.insertFactor(key);
      for (const [orgId, userId] of [
        [carol.orgId, alice.userId],
        [bob.orgId, bob.userId],
        [alice.orgId, bob.userId],
      ] as const) {
        await factors.activateFactor(orgId, userId, app.id, T0 + 1);
        await factors.touchFactor(orgId, userId, app.id, T0 + 1);
        expect(await factors.acceptTotpStep(orgId, userId, app.id, 100, T0 + 1)).toBe(false);
        expect(await factors.advanceCounter(orgId, userId, key.id, 6, T0 + 1)).toBe(false);
        expect(await factors.deleteFactor(orgId, userId, app.id)).toBe(false);
        expect(await factors.deleteAllFactors(orgId, userId)).toBe(0);
      }
      expect(await factors.findFactor(alice.orgId, alice.userId, app.id)).toEqual(app);
      expect(await factors.findFactor(alice.orgId, alice.userId, key.id)).toEqual(key);
    });

    it('activates a factor and deletes one factor of the person', async () => {
      const { db, factors } = subject();
      const { alice } = await threePeople(db);
      const app = aFactor(alice, { active: false });
      const other = aFactor(alice);
      await factors.insertFactor(app);
      await factors.insertFactor(other);
      await factors.activateFactor(alice.orgId, alice.userId, app.id, T0 + 5);
      expect(await factors.findFactor(alice.orgId, alice.userId, app.id)).toMatchObject({
        active: true,
        createdAt: T0 + 5,
        lastUsedAt: null,
      });
      expect(await factors.deleteFactor(alice.orgId, alice.userId, app.id)).toBe(true);
      expect(await factors.deleteFactor(alice.orgId, alice.userId, app.id)).toBe(false);
      expect((await factors.findFactors(alice.orgId, alice.userId)).map((f) => f.id)).toEqual([other.id]);
    });

    it('refuses a credential id registered before, by anyone, with DuplicateError', async () => {
      const { db, factors } = subject();
      const { alice, carol } = await threePeople(db);
      const key = aKey(alice);
      await factors.insertFactor(key);
      await expect(factors.insertFactor(aKey(alice, { credentialId: key.credentialId }))).rejects.toBeInstanceOf(
        DuplicateError,
      );
      await expect(factors.insertFactor(aKey(carol, { credentialId: key.credentialId }))).rejects.toBeInstanceOf(
        DuplicateError,
      );
    });

    it('finds a factor by credential id only once it is active', async () => {
      const { db, factors } = subject();
      const { alice } = await threePeople(db);
      const key = aKey(alice, { active: false });
      await factors.insertFactor(key);
      expect(await factors.findFactorByCredentialId(key.credentialId!)).toBeUndefined();
      await factors.activateFactor(alice.orgId, alice.userId, key.id, T0);
      expect(await factors.findFactorByCredentialId(key.credentialId!)).toMatchObject({
        id: key.id,
        orgId: alice.orgId,
        userId: alice.userId,
      });
      expect(await factors.findFactorByCredentialId('unknown')).toBeUndefined();
    });

    it('accepts a later TOTP step and refuses the same or an earlier one (RFC 6238 §5.2)', async () => {
      const { db, factors } = subject();
      const { alice } = await threePeople(db);
      const app = aFactor(alice);
      await factors.insertFactor(app);
      expect(await factors.acceptTotpStep(alice.orgId, alice.userId, app.id, 1000, T0 + 1)).toBe(true);
      expect(await factors.acceptTotpStep(alice.orgId, alice.userId, app.id, 1000, T0 + 2)).toBe(false);
      expect(await factors.acceptTotpStep(alice.orgId, alice.userId, app.id, 999, T0 + 3)).toBe(false);
      expect(await factors.acceptTotpStep(alice.orgId, alice.userId, app.id, 1001, T0 + 4)).toBe(true);
      expect(await factors.findFactor(alice.orgId, alice.userId, app.id)).toMatchObject({
        lastStep: 1001,
        lastUsedAt: T0 + 4,
      });
    });

    it('of 20 concurrent acceptances of one TOTP step exactly one wins', async () => {
      const { db, factors } = subject();
      const { alice } = await threePeople(db);
      const app = aFactor(alice, { lastStep: 500 });
      await factors.insertFactor(app);
      expect(wins(await race(20, () => factors.acceptTotpStep(alice.orgId, alice.userId, app.id, 501, T0)))).toBe(1);
    });

    it('advances a WebAuthn counter only forward; 0 → 0 stays allowed for keys without a counter', async () => {
      const { db, factors } = subject();
      const { alice } = await threePeople(db);
      const counterless = aKey(alice, { counter: 0 });
      const counting = aKey(alice, { counter: 0 });
      await factors.insertFactor(counterless);
      await factors.insertFactor(counting);
      expect(await factors.advanceCounter(alice.orgId, alice.userId, counterless.id, 0, T0)).toBe(true);
      expect(await factors.advanceCounter(alice.orgId, alice.userId, counterless.id, 0, T0)).toBe(true);
      expect(await factors.advanceCounter(alice.orgId, alice.userId, counting.id, 7, T0)).toBe(true);
      expect(await factors.advanceCounter(alice.orgId, alice.userId, counting.id, 7, T0)).toBe(false);
      expect(await factors.advanceCounter(alice.orgId, alice.userId, counting.id, 6, T0)).toBe(false);
      // A cloned key reporting no counter after a real one did must not pass either.
      expect(await factors.advanceCounter(alice.orgId, alice.userId, counting.id, 0, T0)).toBe(false);
      expect(await factors.advanceCounter(alice.orgId, alice.userId, counting.id, 8, T0 + 9)).toBe(true);
      expect(await factors.findFactor(alice.orgId, alice.userId, counting.id)).toMatchObject({
        counter: 8,
        lastUsedAt: T0 + 9,
      });
    });

    it('of 20 concurrent advances to the same counter exactly one wins (a cloned key loses)', async () => {
      const { db, factors } = subject();
      const { alice } = await threePeople(db);
      const key = aKey(alice, { counter: 41 });
      await factors.insertFactor(key);
      expect(wins(await race(20, () => factors.advanceCounter(alice.orgId, alice.userId, key.id, 42, T0)))).toBe(1);
    });

    it('deleteAllFactors removes factors, recovery codes and trusted browsers, and clears the preferred factor', async () => {
      const { db, factors, recovery, trusted } = subject();
      const { alice, bob } = await threePeople(db);
      for (const owner of [alice, bob]) {
        const app = aFactor(owner);
        await factors.insertFactor(app);
        await factors.insertFactor(aKey(owner));
        await factors.setPreferredFactorId(owner.orgId, owner.userId, app.id);
        await recovery.replaceRecoveryCodes(owner.orgId, owner.userId, ['a'.repeat(64), 'b'.repeat(64)], T0);
        await trusted.insertTrustedBrowser(aBrowser(owner));
      }
      expect(await factors.deleteAllFactors(alice.orgId, alice.userId)).toBe(2);
      expect(await factors.findFactors(alice.orgId, alice.userId)).toEqual([]);
      expect(await recovery.countUnusedRecoveryCodes(alice.orgId, alice.userId)).toBe(0);
      expect(await trusted.listTrustedBrowsers(alice.orgId, alice.userId, T0)).toEqual([]);
      expect(await factors.findPreferredFactorId(alice.orgId, alice.userId)).toBeNull();
      // Bob, in the same organization, keeps everything.
      expect(await factors.findFactors(bob.orgId, bob.userId)).toHaveLength(2);
      expect(await recovery.countUnusedRecoveryCodes(bob.orgId, bob.userId)).toBe(2);
      expect(await trusted.listTrustedBrowsers(bob.orgId, bob.userId, T0)).toHaveLength(1);
      expect(await factors.findPreferredFactorId(bob.orgId, bob.userId)).not.toBeNull();
    });

    it('keeps the preferred factor per person; another organization cannot set it', async () => {
      const { db, factors } = subject();
      const { alice, bob, carol } = await threePeople(db);
      expect(await factors.findPreferredFactorId(alice.orgId, alice.userId)).toBeNull();
      await factors.setPreferredFactorId(alice.orgId, alice.userId, 'factor-1');
      await factors.setPreferredFactorId(carol.orgId, alice.userId, 'ignored');
      expect(await factors.findPreferredFactorId(alice.orgId, alice.userId)).toBe('factor-1');
      expect(await factors.findPreferredFactorId(bob.orgId, bob.userId)).toBeNull();
      await factors.setPreferredFactorId(alice.orgId, alice.userId, null);
      expect(await factors.findPreferredFactorId(alice.orgId, alice.userId)).toBeNull();
    });

    it('creates the WebAuthn user handle once: a second candidate gets the first handle, which resolves to the person', async () => {
      const { db, factors } = subject();
      const { alice, bob } = await threePeople(db);
      const first = randomBytes(32).toString('base64url');
      expect(await factors.findOrCreateWebauthnHandle(alice.orgId, alice.userId, first)).toBe(first);
      expect(
        await factors.findOrCreateWebauthnHandle(alice.orgId, alice.userId, randomBytes(32).toString('base64url')),
      ).toBe(first);
      expect(await factors.findUserIdByWebauthnHandle(first)).toEqual(alice);
      const bobs = await factors.findOrCreateWebauthnHandle(
        bob.orgId,
        bob.userId,
        randomBytes(32).toString('base64url'),
      );
      expect(bobs).not.toBe(first);
      expect(await factors.findUserIdByWebauthnHandle(bobs)).toEqual(bob);
      expect(await factors.findUserIdByWebauthnHandle('unknown')).toBeUndefined();
    });
  });
});
