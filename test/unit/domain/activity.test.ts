import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { createActivity, type Activity } from '../../../src/domain/activity.ts';
import { createAudit } from '../../../src/domain/audit.ts';
import type { Person } from '../../../src/factors/factor.ts';
import { createCryptoRandom } from '../../../src/ports/random.ts';
import type { AuditEntry, AuditQuery, AuditStore, Organization } from '../../../src/ports/stores.ts';
import { createSqlAuditStore } from '../../../src/storage/sql/audit-store.ts';
import { openSqlDatabase, type SqlDatabase } from '../../../src/storage/sql/database.ts';
import { createSqlUserStore } from '../../../src/storage/sql/user-store.ts';
import { createTestClock } from '../../helpers/clock.ts';
import { insertAccount } from '../../helpers/people.ts';

const T0 = Date.UTC(2031, 0, 1);

let sql: SqlDatabase;
let queries: AuditQuery[];
let store: AuditStore;
let org: Organization;
let alice: Person;
const clock = createTestClock(T0);

/** The SQL store, with every query it is asked noted: how an export reads is part of what it promises. */
function noting(inner: AuditStore): AuditStore {
  return {
    ...inner,
    findAuditEvents: (query) => {
      queries.push(query);
      return inner.findAuditEvents(query);
    },
  };
}

function activityWith(limits: { pageSize?: number; exportLimit?: number; exportPageSize?: number } = {}): Activity {
  const audit = createAudit({ store, clock, random: createCryptoRandom() });
  return createActivity({
    store,
    users: createSqlUserStore(sql.db),
    audit,
    pageSize: limits.pageSize ?? 3,
    exportLimit: limits.exportLimit ?? 100,
    exportPageSize: limits.exportPageSize ?? 4,
  });
}

async function signIns(count: number, person: Person = alice): Promise<void> {
  const audit = createAudit({ store, clock, random: createCryptoRandom() });
  for (let i = 0; i < count; i++) {
    clock.advance(1000);
    await audit.record({ type: 'signin.succeeded', orgId: person.orgId, userId: person.userId });
  }
}

const collect = async (entries: AsyncIterable<AuditEntry>) => {
  const all: AuditEntry[] = [];
  for await (const entry of entries) all.push(entry);
  return all;
};

const none = { person: '', kind: null, from: null, to: null };

beforeEach(async () => {
  sql = openSqlDatabase({ kind: 'sqlite', filename: ':memory:' });
  await sql.migrate();
  queries = [];
  store = noting(createSqlAuditStore(sql.db));
  const account = await insertAccount(sql.db);
  org = account.organization;
  alice = { orgId: org.id, userId: account.user.id, email: account.user.email };
});
afterEach(async () => sql.close());

describe('the activity pages', () => {
  it('say where the older and newer pages start, and that there is none past either end', async () => {
    const start = clock.now();
    await signIns(7);
    const activity = activityWith();
    const first = await activity.ofOrganization(org, none, null);
    expect(first.entries).toHaveLength(3);
    expect(first.newer).toBeNull();
    const second = await activity.ofOrganization(org, none, { before: first.older! });
    const third = await activity.ofOrganization(org, none, { before: second.older! });
    expect(third.entries).toHaveLength(1);
    expect(third.older).toBeNull();
    const times = [first, second, third].flatMap((p) => p.entries.map((e) => e.at));
    expect(times).toEqual(Array.from({ length: 7 }, (_, i) => start + (7 - i) * 1000));
    // Back from the oldest page: the one before it, and the newest with nothing newer.
    const back = await activity.ofOrganization(org, none, { after: third.newer! });
    expect(back.entries).toEqual(second.entries);
    const newest = await activity.ofOrganization(org, none, { after: back.newer! });
    expect(newest.entries).toEqual(first.entries);
    expect(newest.newer).toBeNull();
  });

  it("finds a person by their whole email only inside the administrator's organization", async () => {
    const other = await insertAccount(sql.db);
    await signIns(2);
    await signIns(2, { orgId: other.organization.id, userId: other.user.id, email: other.user.email });
    const activity = activityWith({ pageSize: 10 });
    expect((await activity.ofOrganization(org, { ...none, person: alice.email }, null)).entries).toHaveLength(2);
    expect(await activity.ofOrganization(org, { ...none, person: other.user.email }, null)).toEqual({
      entries: [],
      older: null,
      newer: null,
    });
  });
});

describe('the export', () => {
  it('records itself before reading, then reads the filtered trail a page at a time', async () => {
    const start = clock.now();
    await signIns(9);
    const activity = activityWith({ exportPageSize: 4 });
    const entries = await activity.exportTrail(
      org,
      { ...none, kind: 'signins' },
      { userId: alice.userId, format: 'csv' },
    );
    expect(queries).toEqual([]);
    const exported = await collect(entries);
    expect(exported).toHaveLength(9);
    expect(queries.map((q) => [q.limit, q.before?.at ?? null])).toEqual([
      [4, null],
      [4, start + 6000],
      [4, start + 2000],
    ]);
    const [recorded] = await store.listAuditEvents(org.id, alice.userId, 1);
    expect(recorded).toMatchObject({
      type: 'audit.exported',
      detail: { format: 'csv', person: null, kind: 'signins', from: null, to: null },
    });
  });

  it('stops at its limit however long the trail is', async () => {
    await signIns(11);
    clock.advance(1000);
    const activity = activityWith({ exportLimit: 6, exportPageSize: 4 });
    const exported = await collect(await activity.exportTrail(org, none, { userId: alice.userId, format: 'jsonl' }));
    expect(exported).toHaveLength(6);
    expect(queries.map((q) => q.limit)).toEqual([4, 2]);
    // The newest six, the export's own record first.
    expect(exported[0]!.type).toBe('audit.exported');
  });
});
