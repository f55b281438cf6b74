import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { createAccounts, type Accounts, type NewUserInput } from '../../../src/domain/accounts.ts';
import { createAudit } from '../../../src/domain/audit.ts';
import { AppError } from '../../../src/domain/errors.ts';
import { createPasswordPolicy } from '../../../src/domain/passwords/policy.ts';
import { createThrottle } from '../../../src/domain/throttle.ts';
import type { PasswordHasher } from '../../../src/ports/password-hasher.ts';
import { systemPause } from '../../../src/ports/clock.ts';
import { createCryptoRandom } from '../../../src/ports/random.ts';
import { EmailTakenError, type AuditStore, type Organization, type UserStore } from '../../../src/ports/stores.ts';
import { createSqlAttemptCounter } from '../../../src/storage/sql/attempt-counter.ts';
import { createSqlAuditStore } from '../../../src/storage/sql/audit-store.ts';
import { migrateToLatest, openSqlDatabase, type SqlDatabase } from '../../../src/storage/sql/database.ts';
import { createSqlUserStore } from '../../../src/storage/sql/user-store.ts';
import { createSqlPersonStatusStore } from '../../../src/storage/sql/person-status-store.ts';
import { createTestClock, type TestClock } from '../../helpers/clock.ts';
import { anOrganization, insertOrganization } from '../../helpers/people.ts';

/** A fast PasswordHasher that counts its work; `upgrade()` simulates new hashing parameters. */
function createCountingHasher() {
  let version = 1;
  const calls = { hash: 0, verify: 0 };
  const prefix = () => `fake${version}$`;
  const hasher = {
    calls,
    upgrade: () => void version++,
    async hash(password: string) {
      calls.hash++;
      return `${prefix()}${password}`;
    },
    async verify(stored: string, password: string) {
      calls.verify++;
      const at = stored.indexOf('$');
      return at >= 0 && stored.slice(at + 1) === password;
    },
    needsRehash: (stored: string) => !stored.startsWith(prefix()),
  };
  return hasher satisfies PasswordHasher;
}

const org = (overrides: Partial<Organization>): Organization =>
  anOrganization({ name: 'Analytical Engines', ...overrides });

const PASSWORD = 'violet tractors at dusk';
const IP = '203.0.113.7';

let sql: SqlDatabase;
let users: UserStore;
let auditStore: AuditStore;
let hasher: ReturnType<typeof createCountingHasher>;
let clock: TestClock;
let accounts: Accounts;
let plain: Organization;
let enforcing: Organization;

beforeEach(async () => {
  sql = openSqlDatabase({ kind: 'sqlite', filename: ':memory:' });
  await migrateToLatest(sql.db);
  clock = createTestClock(Date.UTC(2025, 0, 1));
  hasher = createCountingHasher();
  users = createSqlUserStore(sql.db);
  auditStore = createSqlAuditStore(sql.db);
  const random = createCryptoRandom();
  const rule = { freeAttempts: 3, windowSeconds: 900, maxDelaySeconds: 900 };
  accounts = createAccounts({
    users,
    hasher,
    policy: createPasswordPolicy(),
    throttle: createThrottle({
      counter: createSqlAttemptCounter(sql.db, clock),
      clock,
      pause: systemPause,
      purpose: 'password',
      rules: { account: rule, ip: { ...rule, freeAttempts: 50 } },
    }),
    audit: createAudit({ store: auditStore, clock, random }),
    clock,
    random,
    defaults: { minLength: 15, minLengthWithTfa: 8, maxLength: 256 },
  });
  plain = await insertOrganization(sql.db, org({}));
  enforcing = await insertOrganization(sql.db, org({ name: 'Difference Engines', enforceTfa: true }));
});
afterEach(() => sql.close());

const create = (input: Partial<NewUserInput> = {}, where = plain) =>
  accounts.createUser(where, { email: 'ada@example.com', password: PASSWORD, ...input });

function fieldsOf(error: unknown): Record<string, string> {
  expect(error).toBeInstanceOf(AppError);
  expect((error as AppError).code).toBe('invalid_user');
  expect((error as AppError).status).toBe(400);
  return (error as AppError).fields;
}

describe('verifyPassword', () => {
  it('signs in with the right password', async () => {
    const user = await create();
    const result = await accounts.verifyPassword({ email: 'ada@example.com', password: PASSWORD, ip: IP });
    expect(result).toEqual({ ok: true, account: { user, organization: plain } });
  });

  it('an unknown email and a wrong password are indistinguishable and cost one verify each', async () => {
    await create();
    const before = hasher.calls.verify;
    const wrong = await accounts.verifyPassword({ email: 'ada@example.com', password: 'not the password', ip: IP });
    expect(hasher.calls.verify - before).toBe(1);
    const unknown = await accounts.verifyPassword({ email: 'nobody@example.com', password: PASSWORD, ip: IP });
    expect(hasher.calls.verify - before).toBe(2);
    expect(unknown).toEqual(wrong);
    expect(wrong).toEqual({ ok: false, reason: 'invalid_credentials' });
  });

  it('makes the dummy hash once, not per unknown email', async () => {
    await accounts.verifyPassword({ email: 'a@example.com', password: PASSWORD, ip: IP });
    await accounts.verifyPassword({ email: 'b@example.com', password: PASSWORD, ip: IP });
    expect(hasher.calls.hash).toBe(1);
  });

  it('looks the email up case-insensitively', async () => {
    await create({ email: 'Ada.Lovelace@Example.com' });
    const result = await accounts.verifyPassword({ email: ' ada.lovelace@EXAMPLE.COM ', password: PASSWORD, ip: IP });
    expect(result.ok).toBe(true);
  });

  it('accepts the password typed in another Unicode form (NFKC)', async () => {
    await create({ password: 'ｖｉｏｌｅｔ tractors at dusk' });
    expect((await accounts.verifyPassword({ email: 'ada@example.com', password: PASSWORD, ip: IP })).ok).toBe(true);
  });

  it('after the free attempts even the right password is not checked until the delay passes', async () => {
    await create();
    for (let i = 0; i < 3; i++)
      await accounts.verifyPassword({ email: 'ada@example.com', password: `wrong ${i}`, ip: IP });
    const verifies = hasher.calls.verify;
    const throttled = await accounts.verifyPassword({ email: 'ada@example.com', password: PASSWORD, ip: IP });
    expect(throttled).toEqual({ ok: false, reason: 'throttled', retryAfterSeconds: 1 });
    expect(hasher.calls.verify).toBe(verifies);
    clock.advanceSeconds(1);
    expect((await accounts.verifyPassword({ email: 'ada@example.com', password: PASSWORD, ip: IP })).ok).toBe(true);
  });

  it('a password change during a throttle wait says the current password was not checked, and for how long (issue 8)', async () => {
    await create();
    for (let i = 0; i < 3; i++)
      await accounts.verifyPassword({ email: 'ada@example.com', password: `wrong ${i}`, ip: IP });
    const found = (await users.findUserByEmail('ada@example.com'))!;
    const refused = await accounts
      .changePassword(found, { current: PASSWORD, password: 'a brand new passphrase here', ip: IP })
      .catch((error: unknown) => error as AppError);
    const message =
      'Too many failed attempts. Your current password was not checked: wait 1 second, then enter it again.';
    expect(refused).toMatchObject({ code: 'throttled', status: 429, message, fields: { current: message } });
  });

  it('throttles by the normalized email, so changing its case does not reset the count', async () => {
    await create();
    for (const email of ['ADA@example.com', 'ada@EXAMPLE.com', ' Ada@Example.Com']) {
      await accounts.verifyPassword({ email, password: 'wrong', ip: IP });
    }
    const result = await accounts.verifyPassword({ email: 'ada@example.com', password: PASSWORD, ip: '198.51.100.1' });
    expect(result).toMatchObject({ ok: false, reason: 'throttled' });
  });

  it('throttles unknown emails the same way, so the throttle does not reveal accounts', async () => {
    for (let i = 0; i < 3; i++)
      await accounts.verifyPassword({ email: 'nobody@example.com', password: 'wrong', ip: IP });
    const result = await accounts.verifyPassword({ email: 'nobody@example.com', password: 'wrong', ip: IP });
    expect(result).toEqual({ ok: false, reason: 'throttled', retryAfterSeconds: 1 });
  });

  it('upgrades the stored hash at sign-in when the parameters changed', async () => {
    await create();
    hasher.upgrade();
    expect((await accounts.verifyPassword({ email: 'ada@example.com', password: PASSWORD, ip: IP })).ok).toBe(true);
    expect((await users.findUserByEmail('ada@example.com'))?.passwordHash).toBe(`fake2$${PASSWORD}`);
    expect((await accounts.verifyPassword({ email: 'ada@example.com', password: PASSWORD, ip: IP })).ok).toBe(true);
  });

  it('leaves a current hash alone', async () => {
    await create();
    const hashes = hasher.calls.hash;
    await accounts.verifyPassword({ email: 'ada@example.com', password: PASSWORD, ip: IP });
    expect(hasher.calls.hash).toBe(hashes);
    expect((await users.findUserByEmail('ada@example.com'))?.passwordHash).toBe(`fake1$${PASSWORD}`);
  });

  it('does not rehash on a failed attempt', async () => {
    await create();
    hasher.upgrade();
    await accounts.verifyPassword({ email: 'ada@example.com', password: 'wrong', ip: IP });
    expect((await users.findUserByEmail('ada@example.com'))?.passwordHash).toBe(`fake1$${PASSWORD}`);
  });

  it('audits a wrong password against the account, never the password itself', async () => {
    const user = await create();
    await accounts.verifyPassword({ email: 'ada@example.com', password: 'guess-123456', ip: IP });
    const events = await auditStore.listAuditEvents(plain.id, user.id, 10);
    const failed = events.find((event) => event.type === 'signin.password_failed');
    expect(failed).toMatchObject({ ip: IP, orgId: plain.id, userId: user.id });
    expect(JSON.stringify(events)).not.toContain('guess-123456');
  });
});

describe('a disabled person', () => {
  const disable = (userId: string) =>
    createSqlPersonStatusStore(sql.db).updatePersonStatus(plain.id, userId, { disabledAt: clock.now() });

  it('hears that the account is disabled only after the right password: a stranger learns nothing', async () => {
    const user = await create();
    await disable(user.id);
    const wrong = await accounts.verifyPassword({ email: 'ada@example.com', password: 'not the password', ip: IP });
    const unknown = await accounts.verifyPassword({ email: 'nobody@example.com', password: PASSWORD, ip: IP });
    expect(wrong).toEqual({ ok: false, reason: 'invalid_credentials' });
    expect(unknown).toEqual(wrong);
    const right = await accounts.verifyPassword({ email: 'ada@example.com', password: PASSWORD, ip: IP });
    expect(right).toEqual({ ok: false, reason: 'disabled' });
    expect((await auditStore.listAuditEvents(plain.id, user.id, 5)).map((e) => e.type)).toContain(
      'signin.refused_disabled',
    );
  });

  it('is not slowed down by repeating the right password, which is no failed guess', async () => {
    const user = await create();
    await disable(user.id);
    for (let i = 0; i < 5; i++) {
      const result = await accounts.verifyPassword({ email: 'ada@example.com', password: PASSWORD, ip: IP });
      expect(result).toEqual({ ok: false, reason: 'disabled' });
    }
  });

  it('is not found by subject or id, and a passkey of theirs is refused with the reason', async () => {
    const user = await create();
    await disable(user.id);
    expect(await accounts.findBySubject(user.id)).toBeUndefined();
    expect(await accounts.findAccount(plain.id, user.id)).toBeUndefined();
    await expect(accounts.signInAccount(plain.id, user.id)).rejects.toMatchObject({
      code: 'account_disabled',
      status: 403,
      message: 'This account is disabled. Contact your administrator.',
    });
    expect(await accounts.signInAccount(enforcing.id, user.id)).toBeUndefined();
  });
});

describe('createUser', () => {
  it('stores a member with a trimmed email, name and phone', async () => {
    const user = await create({ email: ' Ada@Example.com ', name: ' Ada Lovelace ', phone: ' +14155550123 ' });
    expect(user).toMatchObject({
      email: 'Ada@Example.com',
      name: 'Ada Lovelace',
      phone: '+14155550123',
      role: 'member',
      orgId: plain.id,
    });
    expect((await users.findUserBySubject(user.id))?.user).toEqual(user);
  });

  it('reports every invalid field with its own message and stores nothing', async () => {
    const error = await create({ email: 'ada@', name: '   ', phone: '0155 5550', password: 'short' }).catch(
      (e: unknown) => e,
    );
    const fields = fieldsOf(error);
    expect(Object.keys(fields).sort()).toEqual(['email', 'name', 'password', 'phone']);
    expect(fields.email).toMatch(/email address/);
    expect(fields.name).toBe('Enter a name.');
    expect(fields.phone).toMatch(/international format/);
    expect(fields.password).toMatch(/at least 15/);
    expect(hasher.calls.hash).toBe(0);
    expect(await users.findUserByEmail('ada@')).toBeUndefined();
  });

  it('stores nothing when only the password is refused', async () => {
    await expect(create({ password: 'password1234' })).rejects.toBeInstanceOf(AppError);
    expect(await users.findUserByEmail('ada@example.com')).toBeUndefined();
  });

  it.each(['14155550123', '+04155550123', '+1415555012345678', '+12345', '+15555550123'])(
    'refuses the phone number %s (not a valid number, and no default country to read it in)',
    async (phone) => {
      expect(fieldsOf(await create({ phone }).catch((e: unknown) => e))).toHaveProperty('phone');
    },
  );

  it("stores a phone number in E.164, a national one read in the organization's default country (issue 8)", async () => {
    expect((await create({ phone: '+1 (415) 555-0123' })).phone).toBe('+14155550123');
    const british = await insertOrganization(sql.db, org({ slug: 'british', defaultCountry: 'GB' }));
    const user = await create({ email: 'charles@example.com', phone: '020 7946 0018' }, british);
    expect(user.phone).toBe('+442079460018');
  });

  it('rejects a second account whose email differs only in case', async () => {
    await create({ email: 'ada@example.com' });
    await expect(create({ email: 'ADA@Example.COM' })).rejects.toBeInstanceOf(EmailTakenError);
    await expect(create({ email: 'Ada@example.com' }, enforcing)).rejects.toBeInstanceOf(EmailTakenError);
  });

  it('refuses a password built on the organization name', async () => {
    const fields = fieldsOf(await create({ password: 'analytical engines' }).catch((e: unknown) => e));
    expect(fields.password).toMatch(/organization/);
  });
});

describe('password rules per organization', () => {
  const twelve = 'kqzvmwpxtrbn';

  it('asks 15 characters where the organization does not enforce TFA', async () => {
    expect(accounts.passwordRulesFor(plain)).toEqual({ minLength: 15, maxLength: 256 });
    expect(fieldsOf(await create({ password: twelve }).catch((e: unknown) => e)).password).toMatch(/at least 15/);
  });

  it('asks 8 characters where the organization enforces TFA', async () => {
    expect(accounts.passwordRulesFor(enforcing)).toEqual({ minLength: 8, maxLength: 256 });
    await expect(create({ password: 'kqzvmwpx' }, enforcing)).resolves.toMatchObject({ orgId: enforcing.id });
  });

  it("uses the organization's own minimum over both defaults", async () => {
    expect(accounts.passwordRulesFor(org({ passwordMinLength: 12 }))).toEqual({ minLength: 12, maxLength: 256 });
    expect(accounts.passwordRulesFor(org({ passwordMinLength: 20, enforceTfa: true })).minLength).toBe(20);
  });

  it('applies the override when creating a user', async () => {
    const custom = await insertOrganization(sql.db, { name: 'Custom Ltd', passwordMinLength: 12 });
    expect(fieldsOf(await create({ password: twelve.slice(1) }, custom).catch((e: unknown) => e)).password).toMatch(
      /at least 12/,
    );
    await expect(create({ password: twelve }, custom)).resolves.toMatchObject({ orgId: custom.id });
  });
});
