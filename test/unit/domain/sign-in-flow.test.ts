import { beforeEach, describe, expect, it } from 'vitest';

import { createAccessCodes, type AccessCodes } from '../../../src/domain/access-codes.ts';
import { createAudit } from '../../../src/domain/audit.ts';
import { createSignInFlow, personOf, type SignInFlow } from '../../../src/domain/sign-in-flow.ts';
import { createAccessCodeFactor } from '../../../src/factors/access-code/access-code.ts';
import { createTfaRequirement } from '../../../src/domain/tfa-requirement.ts';
import { newFactor } from '../../../src/factors/factor.ts';
import { createFactorRegistry } from '../../../src/factors/registry.ts';
import { createTrustedBrowsers, type TrustedBrowsers } from '../../../src/domain/trusted-browsers.ts';
import type { FactorRecord, FactorStore } from '../../../src/ports/factor-stores.ts';
import { createCryptoRandom } from '../../../src/ports/random.ts';
import type { Organization, UserWithOrganization } from '../../../src/ports/stores.ts';
import { createKeyedHash } from '../../../src/security/keyed-hash.ts';
import { createSqlAuditStore } from '../../../src/storage/sql/audit-store.ts';
import { openSqlDatabase, type SqlDatabase } from '../../../src/storage/sql/database.ts';
import { createSqlEphemeralStore } from '../../../src/storage/sql/ephemeral-store.ts';
import { createSqlFactorStore } from '../../../src/storage/sql/factor-store.ts';
import { createSqlPersonTokenStore } from '../../../src/storage/sql/person-token-store.ts';
import { createSqlTrustedBrowserStore } from '../../../src/storage/sql/trusted-browser-store.ts';
import { createTestClock, type TestClock } from '../../helpers/clock.ts';
import { insertAccount, insertOrganization } from '../../helpers/people.ts';
import { createUnitRegistry } from '../../helpers/registry.ts';

const T0 = Date.UTC(2031, 0, 1);
const DAY = 86_400_000;

let sql: SqlDatabase;
let factors: FactorStore;
let trusted: TrustedBrowsers;
let flow: SignInFlow;
let clock: TestClock;
let accessCodes: AccessCodes;

/** A person in an organization of their own; `org` sets what the test is about. */
const anAccount = async (org: Partial<Organization> = {}): Promise<UserWithOrganization> =>
  insertAccount(sql.db, await insertOrganization(sql.db, org));

async function addFactor(account: UserWithOrganization, active = true): Promise<FactorRecord> {
  const factor = newFactor(
    { random: createCryptoRandom(), clock: createTestClock(T0) },
    personOf(account),
    'totp',
    'Phone',
    { active, sealedSecret: 'v1.a.b.c' },
  );
  await factors.insertFactor(factor);
  return factor;
}

beforeEach(async () => {
  sql = openSqlDatabase({ kind: 'sqlite', filename: ':memory:' });
  await sql.migrate();
  clock = createTestClock(T0);
  const random = createCryptoRandom();
  factors = createSqlFactorStore(sql.db);
  const keyedHash = createKeyedHash('p'.repeat(32));
  trusted = createTrustedBrowsers({ store: createSqlTrustedBrowserStore(sql.db), keyedHash, clock, random });
  accessCodes = createAccessCodes({
    tokens: createSqlPersonTokenStore(sql.db),
    keyedHash,
    clock,
    random,
    audit: createAudit({ store: createSqlAuditStore(sql.db), clock, random }),
  });
  const unit = createUnitRegistry(sql.db, clock).registry;
  const registry = createFactorRegistry([...unit.all(), createAccessCodeFactor({ codes: accessCodes })]);
  flow = createSignInFlow({
    factors,
    registry,
    ephemeral: createSqlEphemeralStore(sql.db, clock),
    trustedBrowsers: trusted,
    requirement: createTfaRequirement({ factors, registry, clock }),
    clock,
  });
  return () => sql.close();
});

const plain = { mfaRequested: false, reauthentication: false, trustToken: undefined };
const PASSWORD = { method: 'password', amr: ['pwd'], at: T0 / 1000 };
const TOTP = { method: 'totp' as const, amr: ['otp'], factorId: 'f1' };

describe('sign-in flow without a second factor', () => {
  it('is done after the password when nothing requires MFA', async () => {
    const account = await anAccount();
    expect(await flow.afterPassword('uid-1', account, plain)).toEqual({ step: 'done', methods: [PASSWORD] });
    expect(await flow.pending('uid-1')).toBeUndefined();
  });

  it('an unfinished enrolment is not a factor', async () => {
    const account = await anAccount();
    await addFactor(account, false);
    expect((await flow.afterPassword('uid-1', account, plain)).step).toBe('done');
  });

  it('sends the person to enrol when the organization enforces TFA', async () => {
    const account = await anAccount({ enforceTfa: true });
    const next = await flow.afterPassword('uid-1', account, plain);
    expect(next).toMatchObject({
      step: 'enrol',
      pending: { person: personOf(account), methods: [PASSWORD], mfaRequired: true, trustDays: 30 },
    });
    expect(await flow.pending('uid-1')).toEqual(next.step === 'enrol' ? next.pending : undefined);
  });

  it('sends the person to enrol when the relying party requests MFA', async () => {
    const account = await anAccount();
    expect(await flow.afterPassword('uid-1', account, { ...plain, mfaRequested: true })).toMatchObject({
      step: 'enrol',
      pending: { mfaRequired: true },
    });
  });
});

describe('sign-in flow with a second factor', () => {
  it('asks for the second factor, and remembers the sign-in for the interaction', async () => {
    const account = await anAccount({ trustedBrowserDays: 7 });
    await addFactor(account);
    const next = await flow.afterPassword('uid-1', account, plain);
    expect(next).toEqual({
      step: 'second-factor',
      pending: {
        step: 'second-factor',
        person: personOf(account),
        // The pages of the second step show the organization (its name and logo).
        organization: { name: account.organization.name, logoUrl: null },
        methods: [PASSWORD],
        mfaRequired: false,
        trustDays: 7,
        reauthentication: false,
        accepted: ['totp', 'webauthn', 'recovery', 'access-code'],
        switching: false,
      },
    });
    expect(await flow.pending('uid-1')).toEqual(next.step === 'second-factor' ? next.pending : undefined);
    expect(await flow.pending('uid-2')).toBeUndefined();
  });

  it('complete() returns the methods with the proven factor once; a second call gets nothing', async () => {
    const account = await anAccount();
    await addFactor(account);
    await flow.afterPassword('uid-1', account, plain);
    clock.advance(20_000);
    expect(await flow.complete('uid-1', TOTP)).toEqual([
      PASSWORD,
      { method: 'totp', amr: ['otp'], at: T0 / 1000 + 20 },
    ]);
    expect(await flow.complete('uid-1', TOTP)).toBeUndefined();
    expect(await flow.pending('uid-1')).toBeUndefined();
  });

  it('of 20 concurrent completions of one interaction exactly one succeeds', async () => {
    const account = await anAccount();
    await addFactor(account);
    await flow.afterPassword('uid-1', account, plain);
    const results = await Promise.all(Array.from({ length: 20 }, () => flow.complete('uid-1', TOTP)));
    expect(results.filter((r) => r !== undefined)).toHaveLength(1);
  });

  it('complete() without a pending sign-in gets nothing', async () => {
    expect(await flow.complete('never-started', TOTP)).toBeUndefined();
  });

  it('a pending sign-in is forgotten after 15 minutes', async () => {
    const account = await anAccount();
    await addFactor(account);
    await flow.afterPassword('uid-1', account, plain);
    clock.advance(15 * 60_000 + 1);
    expect(await flow.pending('uid-1')).toBeUndefined();
    expect(await flow.complete('uid-1', TOTP)).toBeUndefined();
  });

  it('save() keeps enrolment progress for the interaction', async () => {
    const account = await anAccount({ enforceTfa: true });
    const next = await flow.afterPassword('uid-1', account, plain);
    if (next.step === 'done') throw new Error('expected a pending sign-in');
    await flow.save('uid-1', { ...next.pending, enrolled: TOTP, codesShown: true });
    expect(await flow.pending('uid-1')).toMatchObject({ enrolled: TOTP, codesShown: true });
  });

  it('activeFactors lists only finished enrolments', async () => {
    const account = await anAccount();
    const active = await addFactor(account);
    await addFactor(account, false);
    expect((await flow.activeFactors(personOf(account))).map((f) => f.id)).toEqual([active.id]);
  });
});

describe('trusted browsers in the sign-in flow', () => {
  async function trustedAccount(org: Partial<Organization> = {}) {
    const account = await anAccount(org);
    await addFactor(account);
    const { token } = await trusted.trust(personOf(account), 30, 'Firefox on Linux');
    return { account, token };
  }

  it('a trusted browser skips the second factor at an ordinary sign-in', async () => {
    const { account, token } = await trustedAccount();
    expect(await flow.afterPassword('uid-1', account, { ...plain, trustToken: token })).toEqual({
      step: 'done',
      methods: [PASSWORD],
    });
  });

  it('never at re-authentication', async () => {
    const { account, token } = await trustedAccount();
    expect(
      (await flow.afterPassword('uid-1', account, { ...plain, reauthentication: true, trustToken: token })).step,
    ).toBe('second-factor');
  });

  it('never when the relying party requests MFA', async () => {
    const { account, token } = await trustedAccount();
    expect((await flow.afterPassword('uid-1', account, { ...plain, mfaRequested: true, trustToken: token })).step).toBe(
      'second-factor',
    );
  });

  it('never when the organization has since forbidden trusted browsers', async () => {
    const { account, token } = await trustedAccount();
    const forbidding = { ...account, organization: { ...account.organization, trustedBrowserDays: 0 } };
    expect((await flow.afterPassword('uid-1', forbidding, { ...plain, trustToken: token })).step).toBe('second-factor');
  });

  it('not after the trust has expired', async () => {
    const { account, token } = await trustedAccount();
    clock.advance(30 * DAY);
    expect((await flow.afterPassword('uid-1', account, { ...plain, trustToken: token })).step).toBe('second-factor');
  });

  it("not with another person's token, a revoked token or a made-up one", async () => {
    const { account, token } = await trustedAccount();
    const { account: other } = await trustedAccount();
    expect((await flow.afterPassword('uid-1', other, { ...plain, trustToken: token })).step).toBe('second-factor');
    expect((await flow.afterPassword('uid-2', account, { ...plain, trustToken: 'A'.repeat(43) })).step).toBe(
      'second-factor',
    );
    expect((await flow.afterPassword('uid-3', account, { ...plain, trustToken: `${token}x` })).step).toBe(
      'second-factor',
    );
    const [browser] = await trusted.list(personOf(account));
    expect(await trusted.revoke(personOf(account), browser!.id)).toBe(true);
    expect((await flow.afterPassword('uid-4', account, { ...plain, trustToken: token })).step).toBe('second-factor');
  });

  it('does not replace enrolment when the organization enforces TFA and no factor exists', async () => {
    const account = await anAccount({ enforceTfa: true });
    const { token } = await trusted.trust(personOf(account), 30, 'Firefox on Linux');
    expect((await flow.afterPassword('uid-1', account, { ...plain, trustToken: token })).step).toBe('enrol');
  });
});

describe('a temporary access code in the sign-in flow', () => {
  const CODE = { method: 'access-code', amr: ['otp'], factorId: null };
  const issue = (account: UserWithOrganization) =>
    accessCodes.issue(personOf(account), { minutes: 60, actor: 'admin@example.com' });

  it('is asked for before enrolment when the person has no factor and must enrol', async () => {
    const account = await anAccount({ enforceTfa: true });
    await issue(account);
    expect(await flow.afterPassword('uid-1', account, plain)).toMatchObject({
      step: 'second-factor',
      pending: { step: 'second-factor', mfaRequired: true },
    });
  });

  it('is not asked for once it has expired: enrolment follows the password as before', async () => {
    const account = await anAccount({ enforceTfa: true });
    await issue(account);
    clock.advance(60 * 60_000);
    expect((await flow.afterPassword('uid-1', account, plain)).step).toBe('enrol');
  });

  it('turns on no second step for a person whose organization does not require one', async () => {
    const account = await anAccount();
    await issue(account);
    expect((await flow.afterPassword('uid-1', account, plain)).step).toBe('done');
  });

  it('once proven, goes on to enrolment beside the existing factors, never to a session', async () => {
    const account = await anAccount();
    await addFactor(account);
    await issue(account);
    await flow.afterPassword('uid-1', account, plain);
    clock.advance(10_000);
    const next = await flow.afterSecondFactor('uid-1', CODE);
    expect(next).toMatchObject({
      step: 'enrol',
      pending: {
        step: 'enrol',
        mfaRequired: true,
        bootstrapped: true,
        methods: [PASSWORD, { method: 'access-code', amr: ['otp'], at: T0 / 1000 + 10 }],
      },
    });
    expect(await flow.pending('uid-1')).toEqual(next?.step === 'enrol' ? next.pending : undefined);
    expect(await flow.afterSecondFactor('uid-2', CODE)).toBeUndefined();
  });

  it('an ordinary factor proven at the second step ends the sign-in', async () => {
    const account = await anAccount();
    await addFactor(account);
    await flow.afterPassword('uid-1', account, plain);
    expect(await flow.afterSecondFactor('uid-1', TOTP)).toEqual({
      step: 'done',
      methods: [PASSWORD, { method: 'totp', amr: ['otp'], at: T0 / 1000 }],
    });
    expect(await flow.pending('uid-1')).toBeUndefined();
  });
});

describe('the enrolment grace in the sign-in flow (issue 9)', () => {
  const grace = { enforceTfa: true, tfaEnforcedAt: T0, tfaGraceDays: 14 };

  it('offers the deadline instead of enrolment while it is ahead', async () => {
    const account = await anAccount(grace);
    const next = await flow.afterPassword('uid-1', account, plain);
    expect(next).toMatchObject({ step: 'grace', pending: { step: 'grace', graceUntil: T0 + 14 * DAY } });
  });

  it('"not now" ends the sign-in with the password alone, once', async () => {
    const account = await anAccount(grace);
    await flow.afterPassword('uid-1', account, plain);
    expect(await flow.postpone('uid-1', account)).toEqual({ step: 'done', methods: [PASSWORD] });
    expect(await flow.postpone('uid-1', account)).toBeUndefined();
  });

  it('"not now" after the deadline passed on the open page leads to enrolment instead', async () => {
    // Enforcement began almost 14 days ago: a minute of grace is left.
    const account = await anAccount({ ...grace, tfaEnforcedAt: T0 - 14 * DAY + 60_000 });
    expect((await flow.afterPassword('uid-1', account, plain)).step).toBe('grace');
    clock.advance(120_000);
    expect(await flow.postpone('uid-1', account)).toMatchObject({ step: 'enrol', pending: { step: 'enrol' } });
  });

  it('"set up now" moves the sign-in to enrolment, only from the grace step', async () => {
    const account = await anAccount(grace);
    await flow.afterPassword('uid-1', account, plain);
    expect(await flow.enrolNext('uid-1')).toMatchObject({ step: 'enrol', mfaRequired: true });
    expect(await flow.enrolNext('uid-1')).toBeUndefined();
    expect(await flow.postpone('uid-1', account)).toBeUndefined();
  });

  it('gives no grace when the relying party asks for MFA', async () => {
    const account = await anAccount(grace);
    expect((await flow.afterPassword('uid-1', account, { ...plain, mfaRequested: true })).step).toBe('enrol');
  });
});

describe('a person whose every method is forbidden (issue 9)', () => {
  it('proves one of them, never skipped by a trusted browser, and then enrols an allowed one', async () => {
    const account = await anAccount({ allowedMethods: ['webauthn'] });
    await addFactor(account);
    const { token } = await trusted.trust(personOf(account), 30, 'Firefox on Linux');
    const next = await flow.afterPassword('uid-1', account, { ...plain, trustToken: token });
    expect(next).toMatchObject({
      step: 'second-factor',
      pending: { switching: true, accepted: ['totp', 'recovery', 'access-code'] },
    });
    clock.advance(5_000);
    const enrolling = await flow.enrolNext('uid-1', TOTP);
    expect(enrolling).toMatchObject({ step: 'enrol', mfaRequired: true });
    expect(enrolling?.methods).toEqual([PASSWORD, { method: 'totp', amr: ['otp'], at: T0 / 1000 + 5 }]);
  });

  it('a proof that does not switch never leads to enrolment', async () => {
    const account = await anAccount();
    await addFactor(account);
    await flow.afterPassword('uid-1', account, plain);
    expect(await flow.enrolNext('uid-1', TOTP)).toBeUndefined();
  });
});
