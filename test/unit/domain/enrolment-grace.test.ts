import { beforeEach, describe, expect, it } from 'vitest';

import { createAudit } from '../../../src/domain/audit.ts';
import { createEnrolmentGrace, type EnrolmentGrace } from '../../../src/domain/enrolment-grace.ts';
import type { AppError } from '../../../src/domain/errors.ts';
import { newFactor } from '../../../src/factors/factor.ts';
import { createCryptoRandom } from '../../../src/ports/random.ts';
import type { Organization, UserWithOrganization } from '../../../src/ports/stores.ts';
import { createSqlAuditStore } from '../../../src/storage/sql/audit-store.ts';
import { openSqlDatabase, type SqlDatabase } from '../../../src/storage/sql/database.ts';
import { createSqlFactorStore } from '../../../src/storage/sql/factor-store.ts';
import { createSqlUserStore } from '../../../src/storage/sql/user-store.ts';
import { createTestClock, type TestClock } from '../../helpers/clock.ts';
import { insertAccount, insertOrganization } from '../../helpers/people.ts';

/** Noon UTC on 1 January 2031: the "today" of these tests. */
const NOON = Date.UTC(2031, 0, 1, 12);
const BY = { actor: 'admin@acme.example', ip: '203.0.113.7' };

let sql: SqlDatabase;
let clock: TestClock;
let grace: EnrolmentGrace;
let org: Organization;
let ada: UserWithOrganization;

beforeEach(async () => {
  sql = openSqlDatabase({ kind: 'sqlite', filename: ':memory:' });
  await sql.migrate();
  clock = createTestClock(NOON);
  grace = createEnrolmentGrace({
    users: createSqlUserStore(sql.db),
    factors: createSqlFactorStore(sql.db),
    audit: createAudit({ store: createSqlAuditStore(sql.db), clock, random: createCryptoRandom() }),
    clock,
  });
  org = await insertOrganization(sql.db, { enforceTfa: true, tfaEnforcedAt: NOON, tfaGraceDays: 14 });
  ada = await insertAccount(sql.db, org);
  return () => sql.close();
});

const deadlineOf = async (account: UserWithOrganization) =>
  (await createSqlUserStore(sql.db).findUserBySubject(account.user.id))!.user.tfaGraceUntil;
const refusal = (promise: Promise<unknown>) =>
  promise.then(
    () => null,
    (e: unknown) => e as AppError,
  );

describe("an administrator's enrolment deadline for one person", () => {
  it('is the end of the chosen day (UTC), from today to 90 days ahead', async () => {
    expect(await grace.extend(org, ada.user.id, '2031-01-01', BY)).toBe(Date.UTC(2031, 0, 1, 23, 59, 59, 999));
    expect(await grace.extend(org, ada.user.id, '2031-04-01', BY)).toBe(Date.UTC(2031, 3, 1, 23, 59, 59, 999));
    expect(await deadlineOf(ada)).toBe(Date.UTC(2031, 3, 1, 23, 59, 59, 999));
  });

  it('refuses yesterday, the 91st day, impossible dates and other text, next to the field', async () => {
    for (const date of ['2030-12-31', '2031-04-02', '2031-02-30', '01/02/2031', '']) {
      const error = await refusal(grace.extend(org, ada.user.id, date, BY));
      expect([error?.code, error?.fields.until], date).toEqual([
        'invalid_deadline',
        'Choose a date from today to 90 days from today.',
      ]);
    }
    expect(await deadlineOf(ada)).toBeNull();
  });

  it('ends now, and records who changed what from what', async () => {
    clock.advance(60_000);
    await grace.end(org, ada.user.id, BY);
    expect(await deadlineOf(ada)).toBe(NOON + 60_000);
    const events = await createSqlAuditStore(sql.db).listAuditEvents(org.id, ada.user.id, 5);
    expect(events[0]).toMatchObject({
      type: 'tfa.grace_ended',
      actor: BY.actor,
      ip: BY.ip,
      detail: {
        until: new Date(NOON + 60_000).toISOString(),
        previous: new Date(NOON + 14 * 86_400_000).toISOString(),
      },
    });
  });

  it("is not found for another organization's person, or an id that is no one's", async () => {
    const other = await insertAccount(sql.db, await insertOrganization(sql.db, { enforceTfa: true }));
    expect((await refusal(grace.end(org, other.user.id, BY)))?.status).toBe(404);
    expect((await refusal(grace.extend(org, 'not-an-id', '2031-01-02', BY)))?.status).toBe(404);
    expect(await deadlineOf(other)).toBeNull();
  });

  it('does not exist where the organization does not require TFA, nor for someone with a method', async () => {
    const relaxed = await insertOrganization(sql.db);
    const bob = await insertAccount(sql.db, relaxed);
    expect((await refusal(grace.end(relaxed, bob.user.id, BY)))?.status).toBe(409);
    await createSqlFactorStore(sql.db).insertFactor(
      newFactor(
        { random: createCryptoRandom(), clock },
        { orgId: org.id, userId: ada.user.id, email: ada.user.email },
        'totp',
        'Phone',
        {
          active: true,
        },
      ),
    );
    const error = await refusal(grace.extend(org, ada.user.id, '2031-01-02', BY));
    expect([error?.status, error?.message]).toEqual([409, 'This person has set up two-step verification already.']);
  });
});
