import { beforeEach, describe, expect, it } from 'vitest';

import { personOf } from '../../../src/domain/sign-in-flow.ts';
import {
  createTfaRequirement,
  daysLeft,
  enrolmentDeadline,
  type TfaRequirement,
} from '../../../src/domain/tfa-requirement.ts';
import { newFactor } from '../../../src/factors/factor.ts';
import type { FactorRegistry } from '../../../src/factors/registry.ts';
import type { RecoveryCodes } from '../../../src/factors/recovery-codes/recovery-codes.ts';
import { createCryptoRandom } from '../../../src/ports/random.ts';
import type { Organization, Role, User, UserWithOrganization } from '../../../src/ports/stores.ts';
import { openSqlDatabase, type SqlDatabase } from '../../../src/storage/sql/database.ts';
import { createSqlFactorStore } from '../../../src/storage/sql/factor-store.ts';
import { createTestClock, type TestClock } from '../../helpers/clock.ts';
import { anOrganization, insertAccount, insertOrganization } from '../../helpers/people.ts';
import { createUnitRegistry } from '../../helpers/registry.ts';

const T0 = Date.UTC(2031, 0, 1);
const DAY = 86_400_000;

const aUser = (overrides: Partial<User> = {}): User => ({
  id: 'u1',
  orgId: 'o1',
  email: 'ada@example.com',
  name: null,
  phone: null,
  role: 'member',
  createdAt: T0 - 100 * DAY,
  passwordChangedAt: 0,
  disabledAt: null,
  tfaGraceUntil: null,
  invitedAt: null,
  ...overrides,
});

describe('the enrolment deadline', () => {
  const enforcing = anOrganization({ enforceTfa: true, tfaEnforcedAt: T0, tfaGraceDays: 14 });

  it('counts the grace days from when enforcement began', () => {
    expect(enrolmentDeadline(enforcing, aUser())).toBe(T0 + 14 * DAY);
  });

  it('counts from when the person joined, if that was later', () => {
    expect(enrolmentDeadline(enforcing, aUser({ createdAt: T0 + 3 * DAY }))).toBe(T0 + 17 * DAY);
  });

  it("is the administrator's date for this person, earlier or later", () => {
    expect(enrolmentDeadline(enforcing, aUser({ tfaGraceUntil: T0 + 60 * DAY }))).toBe(T0 + 60 * DAY);
    expect(enrolmentDeadline(enforcing, aUser({ tfaGraceUntil: T0 + 1 }))).toBe(T0 + 1);
  });

  it('ignores a date set before enforcement last began (it belonged to an earlier one)', () => {
    expect(enrolmentDeadline(enforcing, aUser({ tfaGraceUntil: T0 - DAY }))).toBe(T0 + 14 * DAY);
  });

  it('is at once with no grace days, and there is none while TFA is not enforced', () => {
    expect(enrolmentDeadline({ ...enforcing, tfaGraceDays: 0 }, aUser())).toBe(T0);
    expect(enrolmentDeadline({ ...enforcing, enforceTfa: false }, aUser({ tfaGraceUntil: T0 + DAY }))).toBeNull();
  });

  it('says how many days are left as a calendar counts them, 0 on the last day', () => {
    expect(daysLeft(T0 + 14 * DAY, T0)).toBe(14);
    expect(daysLeft(T0 + 14 * DAY - 1, T0 + 10 * 3_600_000)).toBe(13);
    expect(daysLeft(T0 + DAY - 1, T0)).toBe(0);
  });
});

describe('the method policy of the registry', () => {
  let sql: SqlDatabase;
  let registry: FactorRegistry;
  beforeEach(async () => {
    sql = openSqlDatabase({ kind: 'sqlite', filename: ':memory:' });
    await sql.migrate();
    ({ registry } = createUnitRegistry(sql.db, createTestClock(T0)));
    return () => sql.close();
  });
  const kinds = (org: Partial<Organization>, role: Role) =>
    registry.allowedFor(anOrganization(org), role).map((f) => f.kind);

  it('allows every factor, recovery codes with them, when the organization says nothing', () => {
    expect(kinds({}, 'member')).toEqual(['totp', 'webauthn', 'recovery']);
    expect(registry.enrollableFor(anOrganization(), 'member').map((f) => f.kind)).toEqual(['totp', 'webauthn']);
  });

  it('forbids kinds by name, but never the recovery codes that back up the allowed ones', () => {
    expect(kinds({ allowedMethods: ['webauthn'] }, 'member')).toEqual(['webauthn', 'recovery']);
  });

  it('keeps only phishing-resistant methods for the roles that must use them, without recovery codes', () => {
    expect(kinds({ phishingResistant: 'admins' }, 'admin')).toEqual(['webauthn']);
    expect(kinds({ phishingResistant: 'admins' }, 'member')).toEqual(['totp', 'webauthn', 'recovery']);
    expect(kinds({ phishingResistant: 'everyone' }, 'member')).toEqual(['webauthn']);
  });
});

describe('what sign-in asks of a person', () => {
  let sql: SqlDatabase;
  let clock: TestClock;
  let requirement: TfaRequirement;
  let recovery: RecoveryCodes;

  beforeEach(async () => {
    sql = openSqlDatabase({ kind: 'sqlite', filename: ':memory:' });
    await sql.migrate();
    clock = createTestClock(T0);
    const built = createUnitRegistry(sql.db, clock);
    recovery = built.recovery;
    requirement = createTfaRequirement({ factors: createSqlFactorStore(sql.db), registry: built.registry, clock });
    return () => sql.close();
  });

  async function anAccount(org: Partial<Organization>, role: Role = 'member'): Promise<UserWithOrganization> {
    const account = await insertAccount(sql.db, await insertOrganization(sql.db, org));
    return { ...account, user: { ...account.user, role } };
  }
  async function withFactor(account: UserWithOrganization, kind: string) {
    const deps = { random: createCryptoRandom(), clock };
    await createSqlFactorStore(sql.db).insertFactor(
      newFactor(deps, personOf(account), kind, kind, {
        active: true,
        sealedSecret: 'x',
        credentialId: kind === 'webauthn' ? account.user.id : null,
      }),
    );
    return account;
  }
  const plain = { mfaRequested: false };

  it('nothing more of a person without a method where nothing requires one', async () => {
    expect(await requirement.assess(await anAccount({}), plain)).toEqual({ step: 'none' });
  });

  it('the deadline while it is ahead, then enrolment; never grace when the relying party asks for MFA', async () => {
    const account = await anAccount({ enforceTfa: true, tfaEnforcedAt: T0, tfaGraceDays: 2 });
    expect(await requirement.assess(account, plain)).toEqual({ step: 'grace', until: T0 + 2 * DAY });
    expect(await requirement.mustEnrol(account)).toBe(false);
    expect(await requirement.assess(account, { mfaRequested: true })).toEqual({ step: 'enrol' });
    clock.advance(2 * DAY);
    expect(await requirement.assess(account, plain)).toEqual({ step: 'enrol' });
    expect(await requirement.mustEnrol(account)).toBe(true);
  });

  it('a proof among the allowed kinds, with recovery codes as their backup', async () => {
    const account = await withFactor(await anAccount({}), 'totp');
    expect(await requirement.assess(account, plain)).toEqual({
      step: 'prove',
      kinds: ['totp', 'webauthn', 'recovery'],
    });
  });

  it('a switch when every method of the person is forbidden: prove one (or a recovery code), then enrol', async () => {
    const account = await withFactor(await anAccount({ allowedMethods: ['webauthn'] }), 'totp');
    await recovery.regenerate(personOf(account));
    expect(await requirement.assess(account, plain)).toEqual({ step: 'switch', kinds: ['totp', 'recovery'] });
    expect(await requirement.mustEnrol(account)).toBe(true);
  });

  it('an administrator with an authenticator app alone must switch where administrators need phishing resistance', async () => {
    const admin = await withFactor(await anAccount({ phishingResistant: 'admins' }, 'admin'), 'totp');
    expect((await requirement.assess(admin, plain)).step).toBe('switch');
    const member = await withFactor(await anAccount({ phishingResistant: 'admins' }), 'totp');
    expect((await requirement.assess(member, plain)).step).toBe('prove');
    const keyHolder = await withFactor(
      await withFactor(await anAccount({ phishingResistant: 'admins' }, 'admin'), 'totp'),
      'webauthn',
    );
    expect(await requirement.assess(keyHolder, plain)).toEqual({ step: 'prove', kinds: ['webauthn'] });
  });

  it('enrolment of an administrator without a method where administrators need phishing resistance', async () => {
    expect(await requirement.assess(await anAccount({ phishingResistant: 'admins' }, 'admin'), plain)).toEqual({
      step: 'enrol',
    });
  });
});
