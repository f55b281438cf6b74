import { randomBytes, randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';

import { newFactor } from '../../src/factors/factor.ts';
import type { FactorRecord, FactorStore, RecoveryCodeStore, TrustedBrowser, TrustedBrowserStore } from '../../src/ports/factor-stores.ts';
import { createCryptoRandom } from '../../src/ports/random.ts';
import { DuplicateError } from '../../src/ports/stores.ts';
import { createSqlFactorStore } from '../../src/storage/sql/factor-store.ts';
import { createSqlOrganizationStore } from '../../src/storage/sql/organization-store.ts';
import { createSqlRecoveryCodeStore } from '../../src/storage/sql/recovery-code-store.ts';
import type { Database } from '../../src/storage/sql/tables.ts';
import { createSqlTrustedBrowserStore } from '../../src/storage/sql/trusted-browser-store.ts';
import { createSqlUserStore } from '../../src/storage/sql/user-store.ts';
import { uniqueName } from '../helpers/backends.ts';
import { describeEachBackend, mapBackend, sqlBackends, type Backend } from './backends.ts';

/** The second-factor stores' contract on SQLite and PostgreSQL: scoped, single use, atomic under races. */
interface Subject {
  db: Database;
  factors: FactorStore;
  recovery: RecoveryCodeStore;
  trusted: TrustedBrowserStore;
}

const backends: Backend<Subject>[] = sqlBackends().map((backend) =>
  mapBackend(backend, ({ db }) => ({
    db,
    factors: createSqlFactorStore(db),
    recovery: createSqlRecoveryCodeStore(db, createCryptoRandom()),
    trusted: createSqlTrustedBrowserStore(db),
  })),
);

const T0 = Date.UTC(2031, 0, 1);
const DAY = 86_400_000;

interface Owner {
  orgId: string;
  userId: string;
}

/** A fresh organization with `count` people in it (foreign keys need both before any factor). */
async function anOrganizationWith(db: Database, count: number): Promise<Owner[]> {
  const orgId = randomUUID();
  await createSqlOrganizationStore(db).insertOrganization({
    id: orgId,
    slug: uniqueName('org').replace('_', '-'),
    name: 'Acme Corp',
    enforceTfa: false,
    passwordMinLength: null,
    trustedBrowserDays: 30,
    createdAt: T0,
  });
  const users = createSqlUserStore(db);
  const owners: Owner[] = [];
  for (let i = 0; i < count; i++) {
    const userId = randomUUID();
    const user = { id: userId, orgId, email: `${uniqueName('user')}@example.com`, name: null, phone: null, role: 'member' as const, createdAt: T0, passwordChangedAt: T0 };
    await users.insertUser(user, '$argon2id$x');
    owners.push({ orgId, userId });
  }
  return owners;
}

/** Alice and Bob share an organization; Carol is in another one. */
async function threePeople(db: Database) {
  const [alice, bob] = (await anOrganizationWith(db, 2)) as [Owner, Owner];
  const [carol] = (await anOrganizationWith(db, 1)) as [Owner];
  return { alice, bob, carol };
}

function aFactor(owner: Owner, overrides: Partial<FactorRecord> = {}): FactorRecord {
  const person = { ...owner, email: 'owner@example.com' };
  return newFactor({ random: createCryptoRandom(), clock: { now: () => T0 } }, person, 'totp', 'Authenticator app', { active: true, sealedSecret: 'v1.nonce.tag.ciphertext', ...overrides });
}

const aKey = (owner: Owner, overrides: Partial<FactorRecord> = {}) =>
  aFactor(owner, { kind: 'webauthn', label: 'YubiKey 5', sealedSecret: null, credentialId: randomBytes(16).toString('base64url'), publicKey: 'pQECAyYgASFYIA', counter: 0, transports: ['usb', 'nfc'], ...overrides });

const race = <T>(n: number, run: () => Promise<T>) => Promise.all(Array.from({ length: n }, run));
const wins = (results: boolean[]) => results.filter(Boolean).length;

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
      expect((await factors.findFactors(alice.orgId, alice.userId)).map((f) => f.id)).toEqual([app.id, key.id, phone.id]);
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
      for (const [orgId, userId] of [[carol.orgId, alice.userId], [bob.orgId, bob.userId], [alice.orgId, bob.userId]] as const) {
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
      expect(await factors.findFactor(alice.orgId, alice.userId, app.id)).toMatchObject({ active: true, lastUsedAt: T0 + 5 });
      expect(await factors.deleteFactor(alice.orgId, alice.userId, app.id)).toBe(true);
      expect(await factors.deleteFactor(alice.orgId, alice.userId, app.id)).toBe(false);
      expect((await factors.findFactors(alice.orgId, alice.userId)).map((f) => f.id)).toEqual([other.id]);
    });

    it('refuses a credential id registered before, by anyone, with DuplicateError', async () => {
      const { db, factors } = subject();
      const { alice, carol } = await threePeople(db);
      const key = aKey(alice);
      await factors.insertFactor(key);
      await expect(factors.insertFactor(aKey(alice, { credentialId: key.credentialId }))).rejects.toBeInstanceOf(DuplicateError);
      await expect(factors.insertFactor(aKey(carol, { credentialId: key.credentialId }))).rejects.toBeInstanceOf(DuplicateError);
    });

    it('finds a factor by credential id only once it is active', async () => {
      const { db, factors } = subject();
      const { alice } = await threePeople(db);
      const key = aKey(alice, { active: false });
      await factors.insertFactor(key);
      expect(await factors.findFactorByCredentialId(key.credentialId!)).toBeUndefined();
      await factors.activateFactor(alice.orgId, alice.userId, key.id, T0);
      expect(await factors.findFactorByCredentialId(key.credentialId!)).toMatchObject({ id: key.id, orgId: alice.orgId, userId: alice.userId });
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
      expect(await factors.findFactor(alice.orgId, alice.userId, app.id)).toMatchObject({ lastStep: 1001, lastUsedAt: T0 + 4 });
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
      expect(await factors.findFactor(alice.orgId, alice.userId, counting.id)).toMatchObject({ counter: 8, lastUsedAt: T0 + 9 });
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
      expect(await factors.findOrCreateWebauthnHandle(alice.orgId, alice.userId, randomBytes(32).toString('base64url'))).toBe(first);
      expect(await factors.findUserIdByWebauthnHandle(first)).toEqual(alice);
      const bobs = await factors.findOrCreateWebauthnHandle(bob.orgId, bob.userId, randomBytes(32).toString('base64url'));
      expect(bobs).not.toBe(first);
      expect(await factors.findUserIdByWebauthnHandle(bobs)).toEqual(bob);
      expect(await factors.findUserIdByWebauthnHandle('unknown')).toBeUndefined();
    });
  });

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
      expect(await trusted.findTrustedBrowser(alice.orgId, alice.userId, browser.tokenHash, T0 + 30 * DAY - 1)).toEqual(browser);
      expect(await trusted.listTrustedBrowsers(alice.orgId, alice.userId, T0 + 30 * DAY - 1)).toEqual([browser]);
      expect(await trusted.findTrustedBrowser(alice.orgId, alice.userId, browser.tokenHash, T0 + 30 * DAY)).toBeUndefined();
      expect(await trusted.listTrustedBrowsers(alice.orgId, alice.userId, T0 + 30 * DAY)).toEqual([]);
    });

    it('lists newest first and is scoped to the person', async () => {
      const { db, trusted } = subject();
      const { alice, bob, carol } = await threePeople(db);
      const older = aBrowser(alice, { createdAt: T0 });
      const newer = aBrowser(alice, { createdAt: T0 + 1000 });
      await trusted.insertTrustedBrowser(older);
      await trusted.insertTrustedBrowser(newer);
      expect((await trusted.listTrustedBrowsers(alice.orgId, alice.userId, T0)).map((b) => b.id)).toEqual([newer.id, older.id]);
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
      expect(await trusted.findTrustedBrowser(alice.orgId, alice.userId, browser.tokenHash, T0)).toMatchObject({ lastUsedAt: T0 + 77 });
    });
  });
});

function aBrowser(owner: Owner, overrides: Partial<TrustedBrowser> = {}): TrustedBrowser {
  return {
    id: randomUUID(),
    orgId: owner.orgId,
    userId: owner.userId,
    tokenHash: randomBytes(32).toString('hex'),
    label: 'Firefox on Linux',
    createdAt: T0,
    expiresAt: T0 + 30 * DAY,
    lastUsedAt: null,
    ...overrides,
  };
}
