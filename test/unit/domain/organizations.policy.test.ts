import { beforeEach, describe, expect, it } from 'vitest';

import { createAudit } from '../../../src/domain/audit.ts';
import type { AppError } from '../../../src/domain/errors.ts';
import { createOrganizations, type Organizations, type PolicyChanges } from '../../../src/domain/organizations.ts';
import { createCryptoRandom } from '../../../src/ports/random.ts';
import type { Organization } from '../../../src/ports/stores.ts';
import { createSqlAuditStore } from '../../../src/storage/sql/audit-store.ts';
import { openSqlDatabase, type SqlDatabase } from '../../../src/storage/sql/database.ts';
import { createSqlOrganizationStore } from '../../../src/storage/sql/organization-store.ts';
import { createTestClock, type TestClock } from '../../helpers/clock.ts';
import { createUnitRegistry } from '../../helpers/registry.ts';

const T0 = Date.UTC(2031, 0, 1);
const ADMIN = { userId: 'admin-1', ip: '203.0.113.5' };

let sql: SqlDatabase;
let clock: TestClock;
let organizations: Organizations;

beforeEach(async () => {
  sql = openSqlDatabase({ kind: 'sqlite', filename: ':memory:' });
  await sql.migrate();
  clock = createTestClock(T0);
  const random = createCryptoRandom();
  const { registry } = createUnitRegistry(sql.db, clock);
  organizations = createOrganizations({
    store: createSqlOrganizationStore(sql.db),
    audit: createAudit({ store: createSqlAuditStore(sql.db), clock, random }),
    clock,
    random,
    transactions: sql.transactions,
    methods: registry,
  });
  return () => sql.close();
});

/** The events of the organization's policy changes, oldest first. */
const policyEvents = async (org: Organization) =>
  (await sql.db.selectFrom('audit_events').selectAll().where('org_id', '=', org.id).orderBy('at').execute())
    .filter((e) => e.type === 'org.policy_changed')
    .map((e) => JSON.parse(e.detail) as Record<string, unknown>);

async function refusal(org: Organization, changes: PolicyChanges): Promise<Record<string, string>> {
  const error = (await organizations.updatePolicy(org, changes, ADMIN).catch((e: unknown) => e)) as AppError;
  expect(error.code).toBe('invalid_policy');
  return error.fields;
}

describe('when enforcement began (the enrolment grace counts from it)', () => {
  it('is set when enforcement turns on, kept by other changes, and cleared when it turns off', async () => {
    const org = await organizations.createOrganization({ slug: 'acme' });
    expect(org.tfaEnforcedAt).toBeNull();
    clock.advance(60_000);
    const on = await organizations.updatePolicy(org, { enforceTfa: true }, ADMIN);
    expect(on.tfaEnforcedAt).toBe(T0 + 60_000);
    clock.advance(60_000);
    expect((await organizations.updatePolicy(on, { enforceTfa: true, tfaGraceDays: 7 }, ADMIN)).tfaEnforcedAt).toBe(
      T0 + 60_000,
    );
    expect((await organizations.updatePolicy(on, { enforceTfa: false }, ADMIN)).tfaEnforcedAt).toBeNull();
  });

  it('is the creation of an organization created enforcing', async () => {
    expect((await organizations.createOrganization({ slug: 'strict', enforceTfa: true })).tfaEnforcedAt).toBe(T0);
  });
});

describe('the method policy', () => {
  it('stores the allowed kinds in the registry order, and every kind allowed as "all" (null)', async () => {
    const org = await organizations.createOrganization({ slug: 'acme' });
    const some = await organizations.updatePolicy(org, { allowedMethods: ['webauthn', 'totp', 'webauthn'] }, ADMIN);
    expect(some.allowedMethods).toBeNull();
    const one = await organizations.updatePolicy(org, { allowedMethods: ['webauthn'] }, ADMIN);
    expect(one.allowedMethods).toEqual(['webauthn']);
    expect((await createSqlOrganizationStore(sql.db).findOrganizationById(org.id))!.allowedMethods).toEqual([
      'webauthn',
    ]);
  });

  it('refuses kinds it does not know, and leaving no method to set up', async () => {
    const org = await organizations.createOrganization({ slug: 'acme' });
    expect(await refusal(org, { allowedMethods: ['carrier-pigeon'] })).toEqual({
      allowedMethods: 'Unknown method: carrier-pigeon.',
    });
    expect(await refusal(org, { allowedMethods: [] })).toEqual({
      allowedMethods: 'Allow at least one method that people can set up.',
    });
    // Recovery codes are a backup, not a method one can allow alone.
    expect(await refusal(org, { allowedMethods: ['recovery'] })).toEqual({
      allowedMethods: 'Unknown method: recovery.',
    });
  });

  it('refuses requiring phishing resistance when no allowed method resists phishing', async () => {
    const org = await organizations.createOrganization({ slug: 'acme' });
    expect(await refusal(org, { allowedMethods: ['totp'], phishingResistant: 'admins' })).toEqual({
      phishingResistant:
        'None of the allowed methods resists phishing. Allow security key or passkey, or do not require it.',
    });
    expect(await refusal(org, { phishingResistant: 'sometimes' as never })).toHaveProperty('phishingResistant');
    expect((await organizations.updatePolicy(org, { phishingResistant: 'everyone' }, ADMIN)).phishingResistant).toBe(
      'everyone',
    );
  });

  it('takes 0 to 90 days of enrolment grace', async () => {
    const org = await organizations.createOrganization({ slug: 'acme' });
    expect(await refusal(org, { tfaGraceDays: 91 })).toEqual({ tfaGraceDays: 'Use 0 to 90 days.' });
    expect(await refusal(org, { tfaGraceDays: -1 })).toEqual({ tfaGraceDays: 'Use 0 to 90 days.' });
    expect((await organizations.updatePolicy(org, { tfaGraceDays: 90 }, ADMIN)).tfaGraceDays).toBe(90);
  });
});

describe('the audit trail of policy changes', () => {
  it('records what changed and what it was, and nothing when nothing changed', async () => {
    const org = await organizations.createOrganization({ slug: 'acme' });
    const changed = await organizations.updatePolicy(
      org,
      { allowedMethods: ['webauthn'], phishingResistant: 'none', tfaGraceDays: 14 },
      ADMIN,
    );
    await organizations.updatePolicy(changed, { allowedMethods: ['webauthn'], tfaGraceDays: 14 }, ADMIN);
    expect(await policyEvents(org)).toEqual([
      {
        changes: {
          allowedMethods: { from: null, to: ['webauthn'] },
          tfaGraceDays: { from: 0, to: 14 },
        },
      },
    ]);
  });
});
