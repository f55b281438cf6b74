import { beforeEach, describe, expect, it } from 'vitest';

import { createAppPasswords } from '../../../src/domain/app-passwords.ts';
import { createAudit } from '../../../src/domain/audit.ts';
import { createTfaReset, type TfaReset } from '../../../src/domain/tfa-reset.ts';
import { newFactor, type Person } from '../../../src/factors/factor.ts';
import type { FactorStore, RecoveryCodeStore } from '../../../src/ports/factor-stores.ts';
import { createCryptoRandom } from '../../../src/ports/random.ts';
import type { AuditStore } from '../../../src/ports/stores.ts';
import { createKeyedHash } from '../../../src/security/keyed-hash.ts';
import { createSqlAppPasswordStore } from '../../../src/storage/sql/app-password-store.ts';
import { createSqlAuditStore } from '../../../src/storage/sql/audit-store.ts';
import { openSqlDatabase, type SqlDatabase } from '../../../src/storage/sql/database.ts';
import { createSqlFactorStore } from '../../../src/storage/sql/factor-store.ts';
import { createSqlRecoveryCodeStore } from '../../../src/storage/sql/recovery-code-store.ts';
import { createCollectingMailer, createRecordingTokens } from '../../helpers/app-password-fakes.ts';
import { createTestClock } from '../../helpers/clock.ts';
import { insertPerson } from '../../helpers/people.ts';

const T0 = Date.UTC(2031, 0, 1);
const clock = createTestClock(T0);
const random = createCryptoRandom();

let sql: SqlDatabase;
let factors: FactorStore;
let recoveryCodes: RecoveryCodeStore;
let auditStore: AuditStore;
let reset: TfaReset;

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
  const audit = createAudit({ store: auditStore, clock, random });
  // Real app passwords on the same database; these tests issue no tokens and send no email.
  const appPasswords = createAppPasswords({
    store: createSqlAppPasswordStore(sql.db),
    tokens: createRecordingTokens(),
    mailer: createCollectingMailer(),
    accountUrl: 'https://id.example/account',
    keyedHash: createKeyedHash('p'.repeat(32)),
    audit,
    clock,
    random,
  });
  reset = createTfaReset({ factors, appPasswords, audit });
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

  it('records tfa.reset with who asked, from where, and how many factors went', async () => {
    const alice = await insertPerson(sql.db);
    await addFactors(alice, 1);
    await reset.resetTfa(alice, { actor: 'cli', ip: '192.0.2.1' });
    const events = await auditStore.listAuditEvents(alice.orgId, alice.userId, 10);
    expect(events).toEqual([
      expect.objectContaining({
        type: 'tfa.reset',
        orgId: alice.orgId,
        userId: alice.userId,
        at: T0,
        ip: '192.0.2.1',
        detail: { by: 'cli', removed: 1 },
      }),
    ]);
  });

  it('answers 0 for a person without factors and still records the reset', async () => {
    const alice = await insertPerson(sql.db);
    expect(await reset.resetTfa(alice, { actor: 'cli' })).toBe(0);
    const events = await auditStore.listAuditEvents(alice.orgId, alice.userId, 10);
    expect(events).toEqual([
      expect.objectContaining({ type: 'tfa.reset', ip: null, detail: { by: 'cli', removed: 0 } }),
    ]);
  });

  it("leaves other people's factors alone", async () => {
    const alice = await insertPerson(sql.db);
    const bob = await insertPerson(sql.db);
    await addFactors(alice, 1);
    await addFactors(bob, 2);
    await reset.resetTfa(alice, { actor: 'cli' });
    expect(await factors.findFactors(bob.orgId, bob.userId)).toHaveLength(2);
    expect(await recoveryCodes.countUnusedRecoveryCodes(bob.orgId, bob.userId)).toBe(2);
    expect(await auditStore.listAuditEvents(bob.orgId, bob.userId, 10)).toEqual([]);
  });
});
