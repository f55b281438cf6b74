import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { createAccounts, type Accounts } from '../../../src/domain/accounts.ts';
import { createAudit } from '../../../src/domain/audit.ts';
import { createPasswordPolicy } from '../../../src/domain/passwords/policy.ts';
import { createThrottle } from '../../../src/domain/throttle.ts';
import type { PasswordHasher } from '../../../src/ports/password-hasher.ts';
import { systemPause } from '../../../src/ports/clock.ts';
import { createCryptoRandom } from '../../../src/ports/random.ts';
import { EmailTakenError, type Organization } from '../../../src/ports/stores.ts';
import { createSqlAttemptCounter } from '../../../src/storage/sql/attempt-counter.ts';
import { createSqlAuditStore } from '../../../src/storage/sql/audit-store.ts';
import { migrateToLatest, openSqlDatabase, type SqlDatabase } from '../../../src/storage/sql/database.ts';
import { createSqlUserStore } from '../../../src/storage/sql/user-store.ts';
import { createTestClock } from '../../helpers/clock.ts';
import { insertOrganization } from '../../helpers/people.ts';

const PASSWORD = 'violet tractors at dusk';
const IP = '203.0.113.7';

const hasher: PasswordHasher = {
  hash: async (password) => `plain$${password}`,
  verify: async (stored, password) => stored === `plain$${password}`,
  needsRehash: () => false,
};

let sql: SqlDatabase;
let accounts: Accounts;
let organization: Organization;

beforeEach(async () => {
  sql = openSqlDatabase({ kind: 'sqlite', filename: ':memory:' });
  await migrateToLatest(sql.db);
  const clock = createTestClock(Date.UTC(2025, 0, 1));
  const random = createCryptoRandom();
  const rule = { freeAttempts: 3, windowSeconds: 900, maxDelaySeconds: 900 };
  accounts = createAccounts({
    users: createSqlUserStore(sql.db),
    hasher,
    policy: createPasswordPolicy(),
    throttle: createThrottle({
      counter: createSqlAttemptCounter(sql.db, clock),
      clock,
      pause: systemPause,
      purpose: 'password',
      rules: { account: rule, ip: rule },
    }),
    audit: createAudit({ store: createSqlAuditStore(sql.db), clock, random }),
    clock,
    random,
    defaults: { minLength: 15, minLengthWithTfa: 8, maxLength: 256 },
  });
  organization = await insertOrganization(sql.db);
});
afterEach(() => sql.close());

// Issue 8: a look-alike address in another Unicode form must not open a second account.
describe('createUser with an address in another Unicode form', () => {
  it.each([
    ['fullwidth', 'ａｄａ@example.com'],
    ['fullwidth capitals', 'ＡＤＡ@ＥＸＡＭＰＬＥ.ＣＯＭ'],
    ['circled letters', 'ⓐⓓⓐ@example.com'],
  ])('refuses a second account for %s of an existing email', async (_, variant) => {
    await accounts.createUser(organization, { email: 'ada@example.com', password: PASSWORD });
    await expect(accounts.createUser(organization, { email: variant, password: PASSWORD })).rejects.toBeInstanceOf(
      EmailTakenError,
    );
  });

  it('signs in the account of ada@example.com with its fullwidth spelling', async () => {
    const user = await accounts.createUser(organization, { email: 'ada@example.com', password: PASSWORD });
    const result = await accounts.verifyPassword({ email: 'ａｄａ@example.com', password: PASSWORD, ip: IP });
    expect(result).toMatchObject({ ok: true, account: { user: { id: user.id } } });
  });
});
