import { describe, expect, it } from 'vitest';

import { aBrowser, DAY, factorStoreBackends, race, T0, threePeople, wins } from '../helpers/factor-stores.ts';
import { describeEachBackend } from './backends.ts';

/**
 * The recovery-code and trusted-browser stores' contract on SQLite and PostgreSQL: scoped, single
 * use, atomic under races. The factor store: factor-stores.contract.test.ts.
 */
const backends = factorStoreBackends();

describeEachBackend(backends, (subject) => {
  describe('RecoveryCodeStore', () => {
    const hash = (n: number) => n.toString(16).padStart(64, '0');

    it('replacing the set kills every old code', async () => {
      const { db, recovery } = subject();
      const { alice } = await threePeople(db);
      await recovery.replaceRecoveryCodes(alice.orgId, alice.userId, [hash(1), hash(2), hash(3)], T0);
      expect(await recovery.countUnusedRecoveryCodes(alice.orgId, alice.userId)).toBe(3);
      await recovery.replaceRecoveryCodes(alice.orgId, alice.userId, [hash(4), hash(5)], T0 + 1);
      expect(await recovery.countUnusedRecoveryCodes(alice.orgId, alice.userId)).toBe(2);
      expect(await recovery.consumeRecoveryCode(alice.orgId, alice.userId, hash(1), T0 + 2)).toBe(false);
      expect(await recovery.consumeRecoveryCode(alice.orgId, alice.userId, hash(4), T0 + 2)).toBe(true);
    });

    it('a code is consumed once, and counts down the unused codes', async () => {
      const { db, recovery } = subject();
      const { alice } = await threePeople(db);
      await recovery.replaceRecoveryCodes(alice.orgId, alice.userId, [hash(1), hash(2)], T0);
      expect(await recovery.consumeRecoveryCode(alice.orgId, alice.userId, hash(1), T0)).toBe(true);
      expect(await recovery.consumeRecoveryCode(alice.orgId, alice.userId, hash(1), T0)).toBe(false);
      expect(await recovery.countUnusedRecoveryCodes(alice.orgId, alice.userId)).toBe(1);
      expect(await recovery.consumeRecoveryCode(alice.orgId, alice.userId, hash(9), T0)).toBe(false);
    });

    it('another person, or the right person under another organization, cannot consume a code', async () => {
      const { db, recovery } = subject();
      const { alice, bob, carol } = await threePeople(db);
      await recovery.replaceRecoveryCodes(alice.orgId, alice.userId, [hash(1)], T0);
      expect(await recovery.consumeRecoveryCode(bob.orgId, bob.userId, hash(1), T0)).toBe(false);
      expect(await recovery.consumeRecoveryCode(carol.orgId, alice.userId, hash(1), T0)).toBe(false);
      expect(await recovery.countUnusedRecoveryCodes(alice.orgId, alice.userId)).toBe(1);
      expect(await recovery.countUnusedRecoveryCodes(bob.orgId, bob.userId)).toBe(0);
    });

    it('of 20 concurrent uses of one code exactly one succeeds', async () => {
      const { db, recovery } = subject();
      const { alice } = await threePeople(db);
      await recovery.replaceRecoveryCodes(alice.orgId, alice.userId, [hash(1), hash(2)], T0);
      expect(wins(await race(20, () => recovery.consumeRecoveryCode(alice.orgId, alice.userId, hash(1), T0)))).toBe(1);
      expect(await recovery.countUnusedRecoveryCodes(alice.orgId, alice.userId)).toBe(1);
    });
  });

  describe('TrustedBrowserStore', () => {
    it('finds and lists a trusted browser until it expires', async () => {
      const { db, trusted } = subject();
      const { alice } = await threePeople(db);
      const browser = aBrowser(alice, { expiresAt: T0 + 30 * DAY });
      await trusted.insertTrustedBrowser(browser);
      expect(await trusted.findTrustedBrowser(alice.orgId, alice.userId, browser.tokenHash, T0 + 30 * DAY - 1)).toEqual(
        browser,
      );
      expect(await trusted.listTrustedBrowsers(alice.orgId, alice.userId, T0 + 30 * DAY - 1)).toEqual([browser]);
      expect(
        await trusted.findTrustedBrowser(alice.orgId, alice.userId, browser.tokenHash, T0 + 30 * DAY),
      ).toBeUndefined();
      expect(await trusted.listTrustedBrowsers(alice.orgId, alice.userId, T0 + 30 * DAY)).toEqual([]);
    });

    it('lists newest first and is scoped to the person', async () => {
      const { db, trusted } = subject();
      const { alice, bob, carol } = await threePeople(db);
      const older = aBrowser(alice, { createdAt: T0 });
      const newer = aBrowser(alice, { createdAt: T0 + 1000 });
      await trusted.insertTrustedBrowser(older);
      await trusted.insertTrustedBrowser(newer);
      expect((await trusted.listTrustedBrowsers(alice.orgId, alice.userId, T0)).map((b) => b.id)).toEqual([
        newer.id,
        older.id,
      ]);
      expect(await trusted.listTrustedBrowsers(bob.orgId, bob.userId, T0)).toEqual([]);
      expect(await trusted.findTrustedBrowser(bob.orgId, bob.userId, older.tokenHash, T0)).toBeUndefined();
      expect(await trusted.findTrustedBrowser(carol.orgId, alice.userId, older.tokenHash, T0)).toBeUndefined();
    });

    it('deletes only with the right organization and person', async () => {
      const { db, trusted } = subject();
      const { alice, bob, carol } = await threePeople(db);
      const browser = aBrowser(alice);
      await trusted.insertTrustedBrowser(browser);
      expect(await trusted.deleteTrustedBrowser(bob.orgId, bob.userId, browser.id)).toBe(false);
      expect(await trusted.deleteTrustedBrowser(carol.orgId, alice.userId, browser.id)).toBe(false);
      expect(await trusted.listTrustedBrowsers(alice.orgId, alice.userId, T0)).toHaveLength(1);
      expect(await trusted.deleteTrustedBrowser(alice.orgId, alice.userId, browser.id)).toBe(true);
      expect(await trusted.listTrustedBrowsers(alice.orgId, alice.userId, T0)).toEqual([]);
    });

    it('records the last use', async () => {
      const { db, trusted } = subject();
      const { alice } = await threePeople(db);
      const browser = aBrowser(alice);
      await trusted.insertTrustedBrowser(browser);
      await trusted.touchTrustedBrowser(alice.orgId, alice.userId, browser.id, T0 + 77);
      expect(await trusted.findTrustedBrowser(alice.orgId, alice.userId, browser.tokenHash, T0)).toMatchObject({
        lastUsedAt: T0 + 77,
      });
    });
  });
});
