import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';

import type { AuditEntry, AuditEvent, AuditQuery, Organization } from '../../src/ports/stores.ts';
import { createSqlAuditStore } from '../../src/storage/sql/audit-store.ts';
import type { Database } from '../../src/storage/sql/tables.ts';
import { createSqlUserStore } from '../../src/storage/sql/user-store.ts';
import { insertOrganization } from '../helpers/people.ts';
import { describeEachBackend, mapBackend, sqlBackends } from './backends.ts';

/** The console's trail (filters, keyset paging, isolation) on SQLite and PostgreSQL. */
const backends = sqlBackends().map((backend) =>
  mapBackend(backend, ({ db }) => ({ db, audit: createSqlAuditStore(db) })),
);

const T0 = Date.UTC(2031, 0, 1);

async function aPerson(db: Database, org: Organization, email: string, name: string | null) {
  const user = {
    id: randomUUID(),
    orgId: org.id,
    email,
    name,
    phone: null,
    role: 'member' as const,
    createdAt: T0,
    passwordChangedAt: T0,
    disabledAt: null,
    tfaGraceUntil: null,
    invitedAt: null,
  };
  await createSqlUserStore(db).insertUser(user, '$x');
  return user;
}

function anEvent(orgId: string, userId: string | null, at: number, overrides: Partial<AuditEvent> = {}): AuditEvent {
  return {
    id: randomUUID(),
    orgId,
    userId,
    type: 'signin.succeeded',
    at,
    ip: '203.0.113.7',
    detail: { method: 'totp' },
    actor: null,
    userAgent: 'Mozilla/5.0 (X11; Linux x86_64; rv:130.0) Gecko/20100101 Firefox/130.0',
    requestId: 'req-1',
    ...overrides,
  };
}

/** Two organizations: Ada and Bob in Acme, Eve in Other; a few events of each. */
async function twoOrganizations(db: Database) {
  const acme = await insertOrganization(db);
  const other = await insertOrganization(db);
  const ada = await aPerson(db, acme, `ada-${acme.id.slice(0, 6)}@acme.example`, 'Ada Lovelace');
  const bob = await aPerson(db, acme, `bob_100%-${acme.id.slice(0, 6)}@acme.example`, null);
  const eve = await aPerson(db, other, `eve-${other.id.slice(0, 6)}@other.example`, 'Eve Ada');
  return { acme, other, ada, bob, eve };
}

const ids = (entries: AuditEntry[]) => entries.map((e) => e.id);

describeEachBackend(backends, (subject) => {
  describe('AuditStore.findAuditEvents', () => {
    it("returns one organization's events, newest first, with their subject, and never another organization's", async () => {
      const { db, audit } = subject();
      const { acme, other, ada, eve } = await twoOrganizations(db);
      const mine = anEvent(acme.id, ada.id, T0 + 1000, { actor: 'grace@acme.example' });
      const noPerson = anEvent(acme.id, null, T0 + 2000, { type: 'org.policy_changed', actor: 'cli' });
      // An event of Acme naming a person of Other (it cannot happen, but the join must not show them).
      const foreignSubject = anEvent(acme.id, eve.id, T0 + 3000);
      for (const e of [mine, noPerson, foreignSubject, anEvent(other.id, eve.id, T0 + 4000)])
        await audit.insertAuditEvent(e);

      const found = await audit.findAuditEvents({ orgId: acme.id, limit: 10 });
      expect(ids(found)).toEqual([foreignSubject.id, noPerson.id, mine.id]);
      expect(found[2]).toEqual({ ...mine, subject: { email: ada.email, name: 'Ada Lovelace' } });
      expect(found[1]!.subject).toBeNull();
      expect(found[0]!.subject).toBeNull();
      expect(await audit.findAuditEvents({ orgId: acme.id, userId: eve.id, personSearch: 'eve', limit: 10 })).toEqual(
        [],
      );
      expect(ids(await audit.findAuditEvents({ orgId: other.id, limit: 10 }))).toHaveLength(1);
      expect(await audit.findAuditEvents({ orgId: randomUUID(), limit: 10 })).toEqual([]);
    });

    it('pages by (time, id) both ways: every event exactly once, ties at the same millisecond included', async () => {
      const { db, audit } = subject();
      const { acme, ada } = await twoOrganizations(db);
      // Seven events, four of them in the same millisecond.
      const events = [0, 1, 1, 1, 1, 2, 3].map((s) => anEvent(acme.id, ada.id, T0 + s * 1000));
      for (const e of events) await audit.insertAuditEvent(e);
      const newestFirst = [...events].sort((a, b) => b.at - a.at || (b.id < a.id ? -1 : 1)).map((e) => e.id);

      const pages: string[][] = [];
      let query: AuditQuery = { orgId: acme.id, limit: 3 };
      for (let page = await audit.findAuditEvents(query); page.length > 0; page = await audit.findAuditEvents(query)) {
        pages.push(ids(page));
        query = { orgId: acme.id, limit: 3, before: page.at(-1)! };
      }
      expect(pages.map((p) => p.length)).toEqual([3, 3, 1]);
      expect(pages.flat()).toEqual(newestFirst);

      // Back from the oldest: the page just newer than it, still newest first.
      const oldest = events[0]!;
      const newer = await audit.findAuditEvents({ orgId: acme.id, limit: 3, after: oldest });
      expect(ids(newer)).toEqual(newestFirst.slice(3, 6));
    });

    it('filters by person (exactly, or by a piece of their email or name), by type and by time', async () => {
      const { db, audit } = subject();
      const { acme, ada, bob } = await twoOrganizations(db);
      const adaIn = anEvent(acme.id, ada.id, T0 + 1000);
      const adaFailed = anEvent(acme.id, ada.id, T0 + 2000, { type: 'signin.password_failed' });
      const adaMethod = anEvent(acme.id, ada.id, T0 + 3000, { type: 'recovery_code.used' });
      const lookalike = anEvent(acme.id, ada.id, T0 + 3500, { type: 'recoveryXcode.used' });
      const bobIn = anEvent(acme.id, bob.id, T0 + 4000);
      for (const e of [adaIn, adaFailed, adaMethod, lookalike, bobIn]) await audit.insertAuditEvent(e);
      const find = async (filters: Partial<AuditQuery>) =>
        ids(await audit.findAuditEvents({ orgId: acme.id, limit: 10, ...filters }));

      expect(await find({ userId: bob.id })).toEqual([bobIn.id]);
      expect(await find({ personSearch: 'LOVELACE' })).toHaveLength(4);
      expect(await find({ personSearch: ' ada-' })).toHaveLength(4);
      // Wildcards typed are matched literally: "_100%" is in Bob's email only.
      expect(await find({ personSearch: '_100%' })).toEqual([bobIn.id]);
      expect(await find({ personSearch: '%' })).toEqual([bobIn.id]);
      expect(await find({ personSearch: 'nobody' })).toEqual([]);
      expect(await find({ types: ['signin.password_failed'] })).toEqual([adaFailed.id]);
      expect(await find({ types: ['recovery_code.*', 'signin.password_failed'] })).toEqual([
        adaMethod.id,
        adaFailed.id,
      ]);
      expect(await find({ from: T0 + 2000, to: T0 + 4000 })).toEqual([lookalike.id, adaMethod.id, adaFailed.id]);
      expect(await find({ userId: ada.id, types: ['signin.*'], from: T0 + 1500 })).toEqual([adaFailed.id]);
    });
  });
});
