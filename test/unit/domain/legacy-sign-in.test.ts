import { beforeEach, describe, expect, it } from 'vitest';

import { createAccounts, type Accounts } from '../../../src/domain/accounts.ts';
import { createAppPasswords, type AppPasswords, type NewAppPassword } from '../../../src/domain/app-passwords.ts';
import { createAudit } from '../../../src/domain/audit.ts';
import {
  createLegacySignIn,
  createUseRecorder,
  type LegacySignIn,
  type UseRecorder,
} from '../../../src/domain/legacy-sign-in.ts';
import { createPasswordPolicy } from '../../../src/domain/passwords/policy.ts';
import { createThrottle } from '../../../src/domain/throttle.ts';
import { newFactor } from '../../../src/factors/factor.ts';
import { PROTOCOL_SCOPES, type ProtocolScope } from '../../../src/ports/app-password-store.ts';
import type { FactorStore } from '../../../src/ports/factor-stores.ts';
import { systemPause } from '../../../src/ports/clock.ts';
import { createCryptoRandom } from '../../../src/ports/random.ts';
import type { Organization, UserWithOrganization } from '../../../src/ports/stores.ts';
import { createKeyedHash } from '../../../src/security/keyed-hash.ts';
import { createSqlAppPasswordStore } from '../../../src/storage/sql/app-password-store.ts';
import { createSqlAttemptCounter } from '../../../src/storage/sql/attempt-counter.ts';
import { createSqlAuditStore } from '../../../src/storage/sql/audit-store.ts';
import { openSqlDatabase, type SqlDatabase } from '../../../src/storage/sql/database.ts';
import { createSqlFactorStore } from '../../../src/storage/sql/factor-store.ts';
import { createSqlUserStore } from '../../../src/storage/sql/user-store.ts';
import {
  createCountingArgon2,
  createRecordingTokens,
  createWatchedAppPasswordStore,
} from '../../helpers/app-password-fakes.ts';
import { createTestClock, type TestClock } from '../../helpers/clock.ts';
import { insertOrganization } from '../../helpers/people.ts';

const T0 = Date.UTC(2031, 0, 1);
const DAY = 86_400_000;
const IP = '203.0.113.7';
const PASSWORD = 'violet tractors at dusk';
const RULE = { freeAttempts: 3, windowSeconds: 900, maxDelaySeconds: 900 };
const RULES = { account: RULE, ip: { ...RULE, freeAttempts: 10 } };
const INVALID = { ok: false, reason: 'invalid' };
const THROTTLED = { ok: false, reason: 'throttled' };
const byAccountPassword = (account: UserWithOrganization) => ({
  ok: true,
  grant: { account, appPassword: null, scopes: [...PROTOCOL_SCOPES] },
});
const used = (lastUsedAt: number, lastUsedIp: string, lastUsedProtocol: string) => ({
  lastUsedAt,
  lastUsedIp,
  lastUsedProtocol,
});
const random = createCryptoRandom();
const keyedHash = createKeyedHash('a pepper for the legacy sign-in tests');

let sql: SqlDatabase;
let clock: TestClock;
let hasher: ReturnType<typeof createCountingArgon2>;
let store: ReturnType<typeof createWatchedAppPasswordStore>;
let factors: FactorStore;
let accounts: Accounts;
let appPasswords: AppPasswords;
let uses: UseRecorder;
let legacy: LegacySignIn;

beforeEach(async () => {
  sql = openSqlDatabase({ kind: 'sqlite', filename: ':memory:' });
  await sql.migrate();
  clock = createTestClock(T0);
  hasher = createCountingArgon2();
  store = createWatchedAppPasswordStore(createSqlAppPasswordStore(sql.db));
  factors = createSqlFactorStore(sql.db);
  const counter = createSqlAttemptCounter(sql.db, clock);
  const audit = createAudit({ store: createSqlAuditStore(sql.db), clock, random });
  accounts = createAccounts({
    users: createSqlUserStore(sql.db),
    hasher,
    policy: createPasswordPolicy(),
    throttle: createThrottle({ counter, clock, pause: systemPause, purpose: 'password', rules: RULES }),
    audit,
    clock,
    random,
    defaults: { minLength: 15, minLengthWithTfa: 8, maxLength: 256 },
  });
  appPasswords = createAppPasswords({
    store,
    tokens: createRecordingTokens(),
    keyedHash,
    audit,
    clock,
    random,
    transactions: sql.transactions,
  });
  uses = createUseRecorder({ store, onError: (error) => expect.fail(`unexpected: ${String(error)}`) });
  legacy = createLegacySignIn({
    store,
    accounts,
    hasTfa: (account) => factors.hasActiveFactor(account.organization.id, account.user.id),
    keyedHash,
    throttle: createThrottle({ counter, clock, pause: systemPause, purpose: 'legacy', rules: RULES }),
    uses,
    clock,
  });
  return () => sql.close();
});

/** A person with an account password (PASSWORD unless given), in an organization of their own. */
async function member(policy: Partial<Organization> = {}, password = PASSWORD): Promise<UserWithOrganization> {
  const organization = await insertOrganization(sql.db, { appPasswords: 'everyone', ...policy });
  const email = `Ada-${random.uuid().slice(0, 8)}@Example.com`;
  return { user: await accounts.createUser(organization, { email, password }), organization };
}

const personOf = ({ user }: UserWithOrganization) => ({ orgId: user.orgId, userId: user.id, email: user.email });

/** An app password made as people make them; `password` is as shown, grouped in fours. */
async function issue(account: UserWithOrganization, input: Partial<NewAppPassword> = {}) {
  const made = { name: 'Thunderbird', scopes: ['imap', 'smtp'] as ProtocolScope[], ...input };
  return appPasswords.create(personOf(account), account.organization, true, made, IP);
}

async function giveTfa(account: UserWithOrganization): Promise<string> {
  const factor = newFactor({ random, clock }, personOf(account), 'totp', 'Phone', {
    active: true,
    sealedSecret: 'v1.a.b.c',
  });
  await factors.insertFactor(factor);
  return factor.id;
}

const setPolicy = (org: Organization, appPasswordPolicy: Organization['appPasswords']) =>
  sql.db.updateTable('organizations').set({ app_passwords: appPasswordPolicy }).where('id', '=', org.id).execute();

const signIn = (
  username: string,
  password: string,
  more: { ip?: string; scopes?: ProtocolScope[]; protocol?: string } = {},
) => legacy.authenticate({ username, password, ip: IP, scopes: null, protocol: 'imap', ...more });

/** A password shaped like an app password (20 symbols of its alphabet) that is nobody's. */
const aGuess = () => Array.from(random.bytes(20), (byte) => 'abcdefghjkmnpqrstuvwxyz23456789'[byte % 31]).join('');

describe('signing in with an app password', () => {
  it('works with the username in any case and the password with or without spaces', async () => {
    const ada = await member();
    const { password, summary } = await issue(ada);
    const variants = [
      password,
      password.replaceAll(' ', ''),
      ` ${password.toUpperCase()} `,
      password.replaceAll(' ', '  '),
    ];
    for (const username of [ada.user.email, ada.user.email.toUpperCase(), ` ${ada.user.email.toLowerCase()} `]) {
      for (const typed of variants) {
        expect(await signIn(username, typed)).toEqual({
          ok: true,
          grant: { account: ada, appPassword: expect.objectContaining({ id: summary.id }), scopes: ['imap', 'smtp'] },
        });
      }
    }
  });

  type Attempt = (ada: UserWithOrganization) => Promise<[username: string, password: string]>;
  const refusedAlike: Record<string, Attempt> = {
    'a wrong app password': async (ada) => [ada.user.email, aGuess()],
    'a revoked app password': async (ada) => {
      const { password, summary } = await issue(ada);
      await appPasswords.revoke(personOf(ada), summary.id, IP);
      return [ada.user.email, password];
    },
    'an expired app password': async (ada) => {
      const { password } = await issue(ada, { expiresInDays: 1 });
      clock.advance(DAY);
      return [ada.user.email, password];
    },
    'an unknown user': async (ada) => ['nobody@example.com', (await issue(ada)).password],
    "another person's app password": async (ada) => [ada.user.email, (await issue(await member())).password],
  };

  it.each(Object.entries(refusedAlike))('refuses %s as invalid', async (_, attempt) => {
    const [username, password] = await attempt(await member({ legacyPasswordAccess: true }));
    expect(await signIn(username, password)).toEqual(INVALID);
  });

  it('works until the moment it expires', async () => {
    const ada = await member();
    const { password } = await issue(ada, { expiresInDays: 1 });
    clock.advance(DAY - 1);
    expect((await signIn(ada.user.email, password)).ok).toBe(true);
    clock.advance(1);
    expect(await signIn(ada.user.email, password)).toEqual(INVALID);
  });

  it('requested scopes narrow the grant to what the app password allows, in its order', async () => {
    const ada = await member();
    const { password } = await issue(ada, { scopes: ['imap', 'smtp', 'dav'] });
    const granted = async (scopes: ProtocolScope[]) => {
      const outcome = await signIn(ada.user.email, password, { scopes });
      return outcome.ok ? outcome.grant.scopes : outcome;
    };
    expect(await granted(['smtp'])).toEqual(['smtp']);
    expect(await granted(['dav', 'imap'])).toEqual(['imap', 'dav']);
    expect(await granted(['imap', 'activesync'])).toEqual(['imap']);
  });

  it("refuses a scope outside the app password's", async () => {
    const ada = await member();
    const { password } = await issue(ada, { scopes: ['imap'] });
    expect(await signIn(ada.user.email, password, { scopes: ['dav'] })).toEqual(INVALID);
    expect(await signIn(ada.user.email, password, { scopes: ['pop3', 'smtp'] })).toEqual(INVALID);
  });
});

describe('signing in with the account password', () => {
  it('is accepted where the organization allows it and no TFA applies, with all protocol scopes and no app password', async () => {
    const ada = await member({ legacyPasswordAccess: true });
    expect(await signIn(ada.user.email.toUpperCase(), PASSWORD)).toEqual(byAccountPassword(ada));
    expect(await signIn(ada.user.email, PASSWORD, { scopes: ['dav'] })).toMatchObject({ grant: { scopes: ['dav'] } });
  });

  // Fails today: legacy-sign-in.ts:91 never checks a password whose normalized form has the shape of an
  // app password (20 symbols of its alphabet) against the account password, so this person's right
  // password is refused (and counted as a failure) although DESIGN allows it here.
  it('accepts an account password that happens to have the shape of an app password', async () => {
    const shaped = 'Brave hungry ducks swam'; // "bravehungryducksswam": 20 symbols, none of 0/o/1/l/i
    const ada = await member({ legacyPasswordAccess: true }, shaped);
    expect(await signIn(ada.user.email, shaped)).toEqual(byAccountPassword(ada));
  });

  it.each([
    ['when the person has TFA', { legacyPasswordAccess: true }, true],
    ['when the organization enforces TFA', { legacyPasswordAccess: true, enforceTfa: true }, false],
    ['when the organization does not allow legacy password access', { legacyPasswordAccess: false }, false],
  ] satisfies [string, Partial<Organization>, boolean][])('is refused %s', async (_, policy, hasTfa) => {
    const ada = await member(policy);
    if (hasTfa) await giveTfa(ada);
    expect(await signIn(ada.user.email, PASSWORD)).toEqual(INVALID);
  });
});

describe("the organization's app password policy, as it is now", () => {
  it("'none' makes existing app passwords stop working", async () => {
    const ada = await member({ appPasswords: 'everyone' });
    const { password } = await issue(ada);
    expect((await signIn(ada.user.email, password)).ok).toBe(true);
    await setPolicy(ada.organization, 'none');
    expect(await signIn(ada.user.email, password)).toEqual(INVALID);
  });

  it("'tfa' makes them stop when the person no longer has TFA", async () => {
    const ada = await member({ appPasswords: 'tfa' });
    const factorId = await giveTfa(ada);
    const { password } = await issue(ada);
    expect((await signIn(ada.user.email, password)).ok).toBe(true);
    await factors.deleteFactor(ada.organization.id, ada.user.id, factorId);
    expect(await signIn(ada.user.email, password)).toEqual(INVALID);
  });

  it("'tfa' keeps them working for a person without TFA yet where the organization enforces it", async () => {
    const ada = await member({ appPasswords: 'tfa', enforceTfa: true });
    const { password } = await issue(ada);
    expect((await signIn(ada.user.email, password)).ok).toBe(true);
  });
});

describe('brute force (security)', () => {
  it('repeated failures for one username are throttled, in any case, even for the right password', async () => {
    const ada = await member({ legacyPasswordAccess: true });
    const spellings = [ada.user.email, ada.user.email.toUpperCase(), ` ${ada.user.email.toLowerCase()}`];
    for (const username of spellings) expect(await signIn(username, `not ${username}`)).toEqual(INVALID);
    expect(await signIn(ada.user.email, 'not it either')).toEqual(THROTTLED);
    expect(await signIn(ada.user.email.toUpperCase(), PASSWORD)).toEqual(THROTTLED);
  });

  it("while the username is throttled, the person's valid app password still works and computes no password hash", async () => {
    const ada = await member({ legacyPasswordAccess: true });
    const { password } = await issue(ada);
    for (let i = 0; i <= RULE.freeAttempts; i++) await signIn(ada.user.email, `not it ${i}`);
    expect(await signIn(ada.user.email, PASSWORD)).toEqual(THROTTLED);
    const before = { ...hasher.calls };
    expect((await signIn(ada.user.email, password)).ok).toBe(true);
    expect(hasher.calls).toEqual(before);
  });

  it("a mail app's wrong passwords and the throttle's refusal are recorded against the account, as from a mail app", async () => {
    const ada = await member({ legacyPasswordAccess: true });
    for (let i = 0; i <= RULE.freeAttempts + 2; i++) {
      // A millisecond apart, so that the events have an order; the throttle's delay is a second.
      clock.advance(1);
      await signIn(ada.user.email, `not it ${i}`);
    }
    const events = await createSqlAuditStore(sql.db).listAuditEvents(ada.organization.id, ada.user.id, 10);
    expect(events.map((e) => [e.type, e.detail])).toEqual([
      ['signin.throttled', { method: 'password', via: 'mail_app', retryAfterSeconds: 1, concurrent: false }],
      ...Array(RULE.freeAttempts).fill(['signin.password_failed', { method: 'password', via: 'mail_app' }]),
      ['user.created', { role: 'member' }],
    ]);
  });

  it('wrong guesses shaped like an app password are throttled like any other', async () => {
    const ada = await member({ legacyPasswordAccess: true });
    for (let i = 0; i < RULE.freeAttempts; i++) expect(await signIn(ada.user.email, aGuess())).toEqual(INVALID);
    expect(await signIn(ada.user.email, aGuess())).toEqual(THROTTLED);
  });

  it("the grant's failures never slow the person's web sign-in (a budget of its own)", async () => {
    const ada = await member({ legacyPasswordAccess: true });
    for (let i = 0; i <= RULE.freeAttempts; i++) await signIn(ada.user.email, `not it ${i}`);
    expect(await signIn(ada.user.email, PASSWORD)).toEqual(THROTTLED);
    const web = await accounts.verifyPassword({ email: ada.user.email, password: PASSWORD, ip: IP });
    expect(web.ok).toBe(true);
  });

  it("a concurrent burst of wrong guesses cannot exceed the throttle's budget", async () => {
    const ada = await member({ legacyPasswordAccess: true });
    const before = hasher.calls.verify;
    const outcomes = [];
    for (let wave = 0; wave < 4; wave++) {
      const burst = Array.from({ length: 10 }, (_, i) => signIn(ada.user.email, `wrong guess ${wave}-${i}`));
      outcomes.push(...(await Promise.all(burst)));
    }
    const checked = outcomes.filter((o) => !o.ok && o.reason === 'invalid').length;
    // One attempt per username at a time: of the first burst, exactly one is checked.
    expect(outcomes.slice(0, 10).filter((o) => !o.ok && o.reason === 'invalid')).toHaveLength(1);
    expect(checked).toBeLessThanOrEqual(RULE.freeAttempts);
    expect(hasher.calls.verify - before).toBe(checked);
    expect(outcomes.filter((o) => !o.ok && o.reason === 'throttled')).toHaveLength(outcomes.length - checked);
    expect(await signIn(ada.user.email, PASSWORD)).toEqual(THROTTLED);
  });

  it("a concurrent burst across many usernames from one address cannot exceed the address's budget", async () => {
    const outcomes = [];
    for (let wave = 0; wave < 3; wave++) {
      const burst = Array.from({ length: 15 }, (_, i) => signIn(`someone-${wave}-${i}@example.com`, `guess ${i}`));
      outcomes.push(...(await Promise.all(burst)));
    }
    const checked = outcomes.filter((o) => !o.ok && o.reason === 'invalid').length;
    expect(checked).toBeGreaterThan(0);
    expect(checked).toBeLessThanOrEqual(RULES.ip.freeAttempts);
    expect(await signIn('someone-else@example.com', 'one more', { ip: IP })).toEqual(THROTTLED);
    expect(await signIn('someone-else@example.com', 'one more', { ip: '198.51.100.9' })).toEqual(INVALID);
  });
});

describe('last uses', () => {
  it('are written only when the recorder flushes: one write per app password per flush, the latest use wins', async () => {
    const ada = await member();
    const laptop = await issue(ada);
    const phone = await issue(ada, { name: 'Phone', scopes: ['dav'] });
    for (const [password, ip, protocol] of [
      [laptop.password, '192.0.2.1', 'imap'],
      [laptop.password, '192.0.2.2', 'smtp'],
      [phone.password, '192.0.2.3', 'dav'],
      [laptop.password, '192.0.2.4', 'pop3'],
    ] as const) {
      clock.advance(1000);
      expect((await signIn(ada.user.email, password, { ip, protocol })).ok).toBe(true);
    }
    expect(store.batches).toEqual([]);
    expect((await appPasswords.list(personOf(ada))).map((s) => s.lastUsedAt)).toEqual([null, null]);
    await uses.flush();
    expect(store.batches).toHaveLength(1);
    expect(store.batches[0]!.map((use) => use.id).sort()).toEqual([laptop.summary.id, phone.summary.id].sort());
    const byId = new Map((await appPasswords.list(personOf(ada))).map((s) => [s.id, s]));
    expect(byId.get(laptop.summary.id)).toMatchObject(used(T0 + 4000, '192.0.2.4', 'pop3'));
    expect(byId.get(phone.summary.id)).toMatchObject(used(T0 + 3000, '192.0.2.3', 'dav'));
    await uses.flush();
    expect(store.batches).toHaveLength(1);
  });

  it('are not recorded for a refused sign-in or for the account password', async () => {
    const ada = await member({ legacyPasswordAccess: true });
    const { password } = await issue(ada, { scopes: ['imap'] });
    expect(await signIn(ada.user.email, password, { scopes: ['dav'] })).toEqual(INVALID);
    expect((await signIn(ada.user.email, PASSWORD)).ok).toBe(true);
    await uses.flush();
    expect(store.batches).toEqual([]);
  });
});
