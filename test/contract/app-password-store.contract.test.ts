import { randomBytes, randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';

import type { AppPasswordRecord, AppPasswordStore } from '../../src/ports/app-password-store.ts';
import { createSqlAppPasswordStore } from '../../src/storage/sql/app-password-store.ts';
import type { Database } from '../../src/storage/sql/tables.ts';
import { insertAccount, insertOrganization, insertPerson } from '../helpers/people.ts';
import { newFactor } from '../../src/factors/factor.ts';
import { createSqlFactorStore } from '../../src/storage/sql/factor-store.ts';
import { describeEachBackend, mapBackend, sqlBackends, type Backend } from './backends.ts';

/**
 * The app password store's contract on SQLite and PostgreSQL: durable data (never Redis), scoped
 * to the organization and person, unique by digest, last uses written in batches.
 */
interface Subject {
  db: Database;
  store: AppPasswordStore;
}

const backends: Backend<Subject>[] = sqlBackends().map((backend) =>
  mapBackend(backend, ({ db }) => ({ db, store: createSqlAppPasswordStore(db) })),
);

const T0 = Date.UTC(2031, 0, 1);
const DAY = 86_400_000;

interface Owner {
  orgId: string;
  userId: string;
}

/** Alice and Bob share an organization; Carol is in another one. */
async function threePeople(db: Database) {
  const shared = await insertOrganization(db);
  return { alice: await insertPerson(db, shared), bob: await insertPerson(db, shared), carol: await insertPerson(db) };
}

function anAppPassword(owner: Owner, overrides: Partial<AppPasswordRecord> = {}): AppPasswordRecord {
  return {
    id: randomUUID(),
    orgId: owner.orgId,
    userId: owner.userId,
    name: 'Thunderbird on laptop',
    digest: randomBytes(32).toString('hex'),
    scopes: ['imap', 'smtp'],
    createdAt: T0,
    expiresAt: null,
    lastUsedAt: null,
    lastUsedIp: null,
    lastUsedProtocol: null,
    ...overrides,
  };
}

async function insertAll(store: AppPasswordStore, ...records: AppPasswordRecord[]): Promise<void> {
  for (const record of records) await store.insertAppPassword(record);
}

const ids = (records: { id: string }[]) => records.map((r) => r.id);

describeEachBackend(backends, (subject) => {
  describe('AppPasswordStore', () => {
    it("finds a person's app passwords newest first, whole, and only that person's", async () => {
      const { db, store } = subject();
      const { alice, bob } = await threePeople(db);
      const oldest = anAppPassword(alice, { createdAt: T0 + 1000 });
      const newest = anAppPassword(alice, { createdAt: T0 + 3000, name: 'Phone', scopes: ['dav'] });
      const middle = anAppPassword(alice, { createdAt: T0 + 2000 });
      const bobs = anAppPassword(bob, { createdAt: T0 + 9000 });
      await insertAll(store, oldest, newest, middle, bobs);
      expect(await store.findAppPasswords(alice.orgId, alice.userId)).toEqual([newest, middle, oldest]);
      expect(await store.findAppPasswords(bob.orgId, bob.userId)).toEqual([bobs]);
    });

    it("shows another organization nothing of a person's app passwords", async () => {
      const { db, store } = subject();
      const { alice, carol } = await threePeople(db);
      await store.insertAppPassword(anAppPassword(alice));
      expect(await store.findAppPasswords(carol.orgId, alice.userId)).toEqual([]);
      expect(await store.findAppPasswords(carol.orgId, carol.userId)).toEqual([]);
    });

    it('finds an app password by its digest, whoever it belongs to', async () => {
      const { db, store } = subject();
      const { alice, carol } = await threePeople(db);
      const alices = anAppPassword(alice);
      const carols = anAppPassword(carol);
      await insertAll(store, alices, carols);
      expect(await store.findAppPasswordByDigest(alices.digest)).toEqual(alices);
      expect(await store.findAppPasswordByDigest(carols.digest)).toEqual(carols);
      expect(await store.findAppPasswordByDigest(randomBytes(32).toString('hex'))).toBeUndefined();
    });

    it('finds an app password with its owner, their organization and whether they have an active factor, in one read', async () => {
      const { db, store } = subject();
      const org = await insertOrganization(db, {
        name: 'Analytical Engines',
        enforceTfa: true,
        appPasswords: 'everyone',
      });
      const owner = await insertAccount(db, org);
      const record = anAppPassword({ orgId: owner.user.orgId, userId: owner.user.id });
      await store.insertAppPassword(record);
      expect(await store.findAppPasswordOwner(record.digest)).toEqual({
        record,
        account: owner,
        hasActiveFactor: false,
      });
      await createSqlFactorStore(db).insertFactor(
        newFactor(
          { random: { uuid: randomUUID } as never, clock: { now: () => T0 } },
          { orgId: org.id, userId: owner.user.id, email: owner.user.email },
          'totp',
          'Phone',
          { active: true },
        ),
      );
      expect((await store.findAppPasswordOwner(record.digest))?.hasActiveFactor).toBe(true);
      expect(await store.findAppPasswordOwner(randomBytes(32).toString('hex'))).toBeUndefined();
    });

    it('refuses a second app password with the same digest, for the same person or anyone else', async () => {
      const { db, store } = subject();
      const { alice, carol } = await threePeople(db);
      const first = anAppPassword(alice);
      await store.insertAppPassword(first);
      await expect(store.insertAppPassword(anAppPassword(alice, { digest: first.digest }))).rejects.toThrow();
      await expect(store.insertAppPassword(anAppPassword(carol, { digest: first.digest }))).rejects.toThrow();
      expect(await store.findAppPasswordByDigest(first.digest)).toEqual(first);
      expect(await store.findAppPasswords(alice.orgId, alice.userId)).toEqual([first]);
      expect(await store.findAppPasswords(carol.orgId, carol.userId)).toEqual([]);
    });

    it("deletes nothing with someone else's organization or person and answers false", async () => {
      const { db, store } = subject();
      const { alice, bob, carol } = await threePeople(db);
      const alices = anAppPassword(alice);
      await store.insertAppPassword(alices);
      for (const [orgId, userId] of [
        [bob.orgId, bob.userId],
        [carol.orgId, carol.userId],
        [carol.orgId, alice.userId],
        [alice.orgId, bob.userId],
      ] as const) {
        expect(await store.deleteAppPassword(orgId, userId, alices.id)).toBe(false);
        expect(await store.deleteAllAppPasswords(orgId, userId)).toEqual([]);
      }
      expect(await store.findAppPasswords(alice.orgId, alice.userId)).toEqual([alices]);
    });

    it('deletes one app password of the person, once', async () => {
      const { db, store } = subject();
      const { alice } = await threePeople(db);
      const gone = anAppPassword(alice, { createdAt: T0 + 1 });
      const kept = anAppPassword(alice);
      await insertAll(store, gone, kept);
      expect(await store.deleteAppPassword(alice.orgId, alice.userId, gone.id)).toBe(true);
      expect(await store.deleteAppPassword(alice.orgId, alice.userId, gone.id)).toBe(false);
      expect(await store.deleteAppPassword(alice.orgId, alice.userId, randomUUID())).toBe(false);
      expect(await store.findAppPasswordByDigest(gone.digest)).toBeUndefined();
      expect(await store.findAppPasswords(alice.orgId, alice.userId)).toEqual([kept]);
    });

    it("deletes all of a person's app passwords, answers their ids, and leaves other people's", async () => {
      const { db, store } = subject();
      const { alice, bob } = await threePeople(db);
      const alices = [anAppPassword(alice), anAppPassword(alice, { createdAt: T0 + 1 }), anAppPassword(alice)];
      const bobs = anAppPassword(bob);
      await insertAll(store, ...alices, bobs);
      const deleted = await store.deleteAllAppPasswords(alice.orgId, alice.userId);
      expect([...deleted].sort()).toEqual(ids(alices).sort());
      expect(await store.findAppPasswords(alice.orgId, alice.userId)).toEqual([]);
      expect(await store.deleteAllAppPasswords(alice.orgId, alice.userId)).toEqual([]);
      expect(await store.findAppPasswords(bob.orgId, bob.userId)).toEqual([bobs]);
    });

    it('records a batch of last uses in one call; the latest values land', async () => {
      const { db, store } = subject();
      const { alice, carol } = await threePeople(db);
      const laptop = anAppPassword(alice);
      const phone = anAppPassword(carol);
      await insertAll(store, laptop, phone);
      await store.recordAppPasswordUses([
        { id: laptop.id, at: T0 + 1000, ip: '192.0.2.1', protocol: 'imap' },
        { id: phone.id, at: T0 + 2000, ip: '2001:db8::1', protocol: 'dav' },
        { id: laptop.id, at: T0 + 3000, ip: '192.0.2.2', protocol: 'smtp' },
      ]);
      expect(await store.findAppPasswordByDigest(laptop.digest)).toEqual({
        ...laptop,
        lastUsedAt: T0 + 3000,
        lastUsedIp: '192.0.2.2',
        lastUsedProtocol: 'smtp',
      });
      expect(await store.findAppPasswordByDigest(phone.digest)).toMatchObject({
        lastUsedAt: T0 + 2000,
        lastUsedIp: '2001:db8::1',
        lastUsedProtocol: 'dav',
      });
      await store.recordAppPasswordUses([{ id: laptop.id, at: T0 + 4000, ip: '192.0.2.3', protocol: 'pop3' }]);
      expect(await store.findAppPasswordByDigest(laptop.digest)).toMatchObject({
        lastUsedAt: T0 + 4000,
        lastUsedIp: '192.0.2.3',
        lastUsedProtocol: 'pop3',
      });
    });

    it('drops the use of a deleted app password and still writes the rest of the batch', async () => {
      const { db, store } = subject();
      const { alice } = await threePeople(db);
      const revoked = anAppPassword(alice);
      const live = anAppPassword(alice);
      await insertAll(store, revoked, live);
      await store.deleteAppPassword(alice.orgId, alice.userId, revoked.id);
      await store.recordAppPasswordUses([
        { id: revoked.id, at: T0 + 1000, ip: '192.0.2.1', protocol: 'imap' },
        { id: live.id, at: T0 + 2000, ip: '192.0.2.2', protocol: 'imap' },
      ]);
      expect(await store.findAppPasswords(alice.orgId, alice.userId)).toEqual([
        { ...live, lastUsedAt: T0 + 2000, lastUsedIp: '192.0.2.2', lastUsedProtocol: 'imap' },
      ]);
      expect(await store.findAppPasswordByDigest(revoked.digest)).toBeUndefined();
    });

    it('cuts an over-long address or protocol to its column instead of failing the batch', async () => {
      const { db, store } = subject();
      const { alice } = await threePeople(db);
      const laptop = anAppPassword(alice);
      await store.insertAppPassword(laptop);
      await store.recordAppPasswordUses([{ id: laptop.id, at: T0 + 1, ip: '9'.repeat(100), protocol: 'x'.repeat(50) }]);
      expect(await store.findAppPasswordByDigest(laptop.digest)).toMatchObject({
        lastUsedAt: T0 + 1,
        lastUsedIp: '9'.repeat(64),
        lastUsedProtocol: 'x'.repeat(32),
      });
    });

    it('treats an empty batch of uses as a no-op', async () => {
      const { db, store } = subject();
      const { alice } = await threePeople(db);
      const laptop = anAppPassword(alice);
      await store.insertAppPassword(laptop);
      await expect(store.recordAppPasswordUses([])).resolves.toBeUndefined();
      expect(await store.findAppPasswordByDigest(laptop.digest)).toEqual(laptop);
    });

    it('keeps the scopes as they were stored: one, several, or all five protocols', async () => {
      const { db, store } = subject();
      const { alice } = await threePeople(db);
      const one = anAppPassword(alice, { scopes: ['dav'] });
      const several = anAppPassword(alice, { scopes: ['imap', 'smtp'] });
      const all = anAppPassword(alice, { scopes: ['imap', 'pop3', 'smtp', 'dav', 'activesync'] });
      await insertAll(store, one, several, all);
      for (const record of [one, several, all]) {
        expect((await store.findAppPasswordByDigest(record.digest))?.scopes).toEqual(record.scopes);
      }
    });

    it('keeps a null expiry as never expiring and a set expiry as the same number of milliseconds', async () => {
      const { db, store } = subject();
      const { alice } = await threePeople(db);
      const forever = anAppPassword(alice, { expiresAt: null });
      const yearly = anAppPassword(alice, { expiresAt: T0 + 365 * DAY, lastUsedAt: T0 + 5, lastUsedIp: '192.0.2.9' });
      await insertAll(store, forever, yearly);
      const [foundForever, foundYearly] = [
        await store.findAppPasswordByDigest(forever.digest),
        await store.findAppPasswordByDigest(yearly.digest),
      ];
      expect(foundForever?.expiresAt).toBeNull();
      // bigint columns come back as numbers on PostgreSQL too, not as strings.
      expect(foundYearly).toEqual(yearly);
      expect(typeof foundYearly?.expiresAt).toBe('number');
      expect(typeof foundYearly?.createdAt).toBe('number');
    });
  });
});
