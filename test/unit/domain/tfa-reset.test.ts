import { beforeEach, describe, expect, it } from 'vitest';

import { createAppPasswords, type AppPasswords } from '../../../src/domain/app-passwords.ts';
import { createAudit, type Audit } from '../../../src/domain/audit.ts';
import { createTfaReset, type TfaReset } from '../../../src/domain/tfa-reset.ts';
import { newFactor, type Person } from '../../../src/factors/factor.ts';
import type { AccountAccess, EndedAccess } from '../../../src/ports/account-access.ts';
import type { FactorStore, RecoveryCodeStore } from '../../../src/ports/factor-stores.ts';
import { createCryptoRandom } from '../../../src/ports/random.ts';
import type { AuditStore } from '../../../src/ports/stores.ts';
import { createKeyedHash } from '../../../src/security/keyed-hash.ts';
import { createSqlAppPasswordStore } from '../../../src/storage/sql/app-password-store.ts';
import { createSqlAuditStore } from '../../../src/storage/sql/audit-store.ts';
import { openSqlDatabase, type SqlDatabase } from '../../../src/storage/sql/database.ts';
import { createSqlFactorStore } from '../../../src/storage/sql/factor-store.ts';
import { createSqlRecoveryCodeStore } from '../../../src/storage/sql/recovery-code-store.ts';
import { createRecordingTokens } from '../../helpers/app-password-fakes.ts';
import { createTestClock } from '../../helpers/clock.ts';
import { insertPerson } from '../../helpers/people.ts';

const T0 = Date.UTC(2031, 0, 1);
const clock = createTestClock(T0);
const random = createCryptoRandom();

let sql: SqlDatabase;
let factors: FactorStore;
let recoveryCodes: RecoveryCodeStore;
let auditStore: AuditStore;
let audit: Audit;
let appPasswords: AppPasswords;
let reset: TfaReset;
let access: FakeAccess;

/** The provider's side of the port: what each person holds, and whose access was ended in turn. */
type FakeAccess = AccountAccess & { held: Map<string, EndedAccess>; ended: string[] };

function createFakeAccess(onEnd: (accountId: string) => Promise<void> = async () => {}): FakeAccess {
  const held = new Map<string, EndedAccess>();
  const ended: string[] = [];
  return {
    held,
    ended,
    async endAll(accountId) {
      await onEnd(accountId);
      ended.push(accountId);
      const holding = held.get(accountId) ?? { sessions: 0, grants: 0 };
      held.delete(accountId);
      return holding;
    },
  };
}

async function addFactors(person: Person, count: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    await factors.insertFactor(
      newFactor({ random, clock }, person, 'totp', `Phone ${i}`, { active: true, sealedSecret: 'v1.a.b.c' }),
    );
  }
  await recoveryCodes.replaceRecoveryCodes(person.orgId, person.userId, ['a'.repeat(64), 'b'.repeat(64)], T0);
}

beforeEach(async () => {
  sql = openSqlDatabase({ kind: 'sqlite', filename: ':memory:' });
  await sql.migrate();
  factors = createSqlFactorStore(sql.db);
  recoveryCodes = createSqlRecoveryCodeStore(sql.db, random);
  auditStore = createSqlAuditStore(sql.db);
  audit = createAudit({ store: auditStore, clock, random });
  // Real app passwords on the same database; these tests issue no tokens.
  appPasswords = createAppPasswords({
    store: createSqlAppPasswordStore(sql.db),
    tokens: createRecordingTokens(),
    keyedHash: createKeyedHash('p'.repeat(32)),
    audit,
    clock,
    random,
    transactions: sql.transactions,
  });
  access = createFakeAccess();
  reset = createTfaReset({ factors, appPasswords, audit, access, transactions: sql.transactions });
  return () => sql.close();
});

describe("resetting a person's second factors", () => {
  it('removes every factor and recovery code and answers how many factors went', async () => {
    const alice = await insertPerson(sql.db);
    await addFactors(alice, 2);
    expect(await reset.resetTfa(alice, { actor: 'cli' })).toBe(2);
    expect(await factors.findFactors(alice.orgId, alice.userId)).toEqual([]);
    expect(await recoveryCodes.countUnusedRecoveryCodes(alice.orgId, alice.userId)).toBe(0);
  });

  it('records tfa.reset with who asked, from where, and how many factors, sessions and grants went', async () => {
    const alice = await insertPerson(sql.db);
    await addFactors(alice, 1);
    access.held.set(alice.userId, { sessions: 2, grants: 3 });
    await reset.resetTfa(alice, { actor: 'cli', ip: '192.0.2.1' });
    const events = await auditStore.listAuditEvents(alice.orgId, alice.userId, 10);
    expect(events).toEqual([
      expect.objectContaining({
        type: 'tfa.reset',
        orgId: alice.orgId,
        userId: alice.userId,
        at: T0,
        ip: '192.0.2.1',
        actor: 'cli',
        detail: { by: 'cli', removed: 1, sessions: 2, grants: 3, appPasswordsRevoked: true },
      }),
    ]);
  });

  it('answers 0 for a person without factors and still records the reset', async () => {
    const alice = await insertPerson(sql.db);
    expect(await reset.resetTfa(alice, { actor: 'cli' })).toBe(0);
    const events = await auditStore.listAuditEvents(alice.orgId, alice.userId, 10);
    expect(events).toEqual([
      expect.objectContaining({
        type: 'tfa.reset',
        ip: null,
        detail: { by: 'cli', removed: 0, sessions: 0, grants: 0, appPasswordsRevoked: true },
      }),
    ]);
  });

  it('ends every session and grant of the person before, and again once their factors are gone (issues 8, 9, 11)', async () => {
    const alice = await insertPerson(sql.db);
    await addFactors(alice, 2);
    // What the provider would see at that moment: a session refreshed then must not find a factor.
    const factorsLeft: number[] = [];
    const watched = createFakeAccess(async (accountId) => {
      factorsLeft.push((await factors.findFactors(alice.orgId, accountId)).length);
    });
    watched.held.set(alice.userId, { sessions: 1, grants: 1 });
    await createTfaReset({ factors, appPasswords, audit, access: watched, transactions: sql.transactions }).resetTfa(
      alice,
      { actor: 'cli' },
    );
    // Before: a crash part-way fails closed. After: nothing proven with the old factors in between survives.
    expect(watched.ended).toEqual([alice.userId, alice.userId]);
    expect(factorsLeft).toEqual([2, 0]);
    expect(watched.held.has(alice.userId)).toBe(false);
  });

  it('ends the sessions and grants even when the app passwords are kept', async () => {
    const alice = await insertPerson(sql.db);
    access.held.set(alice.userId, { sessions: 1, grants: 2 });
    await reset.resetTfa(alice, { actor: 'cli' }, { keepAppPasswords: true });
    expect(new Set(access.ended)).toEqual(new Set([alice.userId]));
    const [event] = await auditStore.listAuditEvents(alice.orgId, alice.userId, 10);
    expect(event?.detail).toEqual({ by: 'cli', removed: 0, sessions: 1, grants: 2, appPasswordsRevoked: false });
  });

  it("leaves other people's factors and sessions alone", async () => {
    const alice = await insertPerson(sql.db);
    const bob = await insertPerson(sql.db);
    await addFactors(alice, 1);
    await addFactors(bob, 2);
    await reset.resetTfa(alice, { actor: 'cli' });
    expect(await factors.findFactors(bob.orgId, bob.userId)).toHaveLength(2);
    expect(await recoveryCodes.countUnusedRecoveryCodes(bob.orgId, bob.userId)).toBe(2);
    expect(await auditStore.listAuditEvents(bob.orgId, bob.userId, 10)).toEqual([]);
    expect(new Set(access.ended)).toEqual(new Set([alice.userId]));
  });
});
