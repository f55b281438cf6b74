import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { createAudit } from '../../../src/domain/audit.ts';
import { createPersonStatus, type PersonStatus } from '../../../src/domain/person-status.ts';
import type { Person } from '../../../src/factors/factor.ts';
import type { AccountAccess } from '../../../src/ports/account-access.ts';
import type { PersonTokenStore } from '../../../src/ports/person-token-store.ts';
import { createCryptoRandom } from '../../../src/ports/random.ts';
import type { AuditStore, Organization } from '../../../src/ports/stores.ts';
import { createSqlAuditStore } from '../../../src/storage/sql/audit-store.ts';
import { migrateToLatest, openSqlDatabase, type SqlDatabase } from '../../../src/storage/sql/database.ts';
import { createSqlPersonStatusStore } from '../../../src/storage/sql/person-status-store.ts';
import { createSqlPersonTokenStore } from '../../../src/storage/sql/person-token-store.ts';
import { createSqlUserStore } from '../../../src/storage/sql/user-store.ts';
import { createTestClock } from '../../helpers/clock.ts';
import { insertOrganization, insertPerson } from '../../helpers/people.ts';

const T0 = Date.UTC(2031, 0, 1);
const clock = createTestClock(T0);

let sql: SqlDatabase;
let auditStore: AuditStore;
let tokens: PersonTokenStore;
let status: PersonStatus;
/** The provider's side of the port: whose access was ended, in turn. */
let ended: string[];
let org: Organization;
let grace: Person;
let ada: Person;

beforeEach(async () => {
  sql = openSqlDatabase({ kind: 'sqlite', filename: ':memory:' });
  await migrateToLatest(sql.db);
  auditStore = createSqlAuditStore(sql.db);
  tokens = createSqlPersonTokenStore(sql.db);
  ended = [];
  const access: AccountAccess = {
    async endAll(accountId) {
      ended.push(accountId);
      return { sessions: 2, grants: 3 };
    },
  };
  status = createPersonStatus({
    store: createSqlPersonStatusStore(sql.db),
    tokens,
    access,
    audit: createAudit({ store: auditStore, clock, random: createCryptoRandom() }),
    clock,
  });
  org = await insertOrganization(sql.db, { name: 'Acme Corp' });
  grace = await insertPerson(sql.db, org);
  ada = await insertPerson(sql.db, org);
  await createSqlPersonStatusStore(sql.db).updatePersonStatus(org.id, grace.userId, { role: 'admin' });
});
afterEach(() => sql.close());

const byGrace = () => ({ actor: grace.email, userId: grace.userId, ip: '203.0.113.5' });
const userOf = async (person: Person) => (await createSqlUserStore(sql.db).findUserBySubject(person.userId))!.user;
const typesOf = async (person: Person) =>
  (await auditStore.listAuditEvents(org.id, person.userId, 20)).map((e) => [e.type, e.actor, e.detail]);

async function issueToken(person: Person, purpose: 'password_reset' | 'access_code') {
  await tokens.insertPersonToken({
    id: randomUUID(),
    orgId: person.orgId,
    userId: person.userId,
    purpose,
    tokenHash: randomUUID(),
    createdAt: T0,
    expiresAt: T0 + 3_600_000,
    usedAt: null,
    createdBy: null,
  });
}

describe('disabling a person', () => {
  it('ends their access, spends their one-time links and codes, and records who did it', async () => {
    await issueToken(ada, 'password_reset');
    await issueToken(ada, 'access_code');
    await issueToken(grace, 'password_reset');
    const result = await status.disable(org, ada, byGrace());
    expect(result).toEqual({ changed: true, sessions: 2, grants: 3, tokens: 2 });
    expect(ended).toEqual([ada.userId]);
    expect((await userOf(ada)).disabledAt).toBe(T0);
    expect(await tokens.findLivePersonTokenOf(org.id, ada.userId, 'access_code', T0)).toBeUndefined();
    expect(await tokens.findLivePersonTokenOf(org.id, grace.userId, 'password_reset', T0)).toBeDefined();
    expect(await typesOf(ada)).toContainEqual(['user.disabled', grace.email, { sessions: 2, grants: 3, tokens: 2 }]);
  });

  it('a second disable ends access again but records nothing new', async () => {
    await status.disable(org, ada, byGrace());
    expect(await status.disable(org, ada, byGrace())).toMatchObject({ changed: false });
    expect(ended).toEqual([ada.userId, ada.userId]);
    expect((await typesOf(ada)).filter(([type]) => type === 'user.disabled')).toHaveLength(1);
  });

  it('enabling lets them back, once, and is recorded', async () => {
    await status.disable(org, ada, byGrace());
    expect(await status.enable(org, ada, byGrace())).toBe(true);
    expect(await status.enable(org, ada, byGrace())).toBe(false);
    expect((await userOf(ada)).disabledAt).toBeNull();
    expect((await typesOf(ada)).filter(([type]) => type === 'user.enabled')).toEqual([
      ['user.enabled', grace.email, {}],
    ]);
  });
});

describe('the last administrator and administrators themselves', () => {
  it('refuses an administrator disabling or demoting themselves, changing nothing', async () => {
    await createSqlPersonStatusStore(sql.db).updatePersonStatus(org.id, ada.userId, { role: 'admin' });
    await expect(status.disable(org, grace, byGrace())).rejects.toMatchObject({ code: 'self_lockout', status: 409 });
    await expect(status.changeRole(org, grace, 'member', byGrace())).rejects.toMatchObject({ code: 'self_lockout' });
    expect(ended).toEqual([]);
    expect(await userOf(grace)).toMatchObject({ role: 'admin', disabledAt: null });
  });

  it('refuses the CLI disabling or demoting the last administrator who can sign in, with the reason', async () => {
    const refusal = {
      code: 'last_admin',
      status: 409,
      message: `${grace.email} is the only administrator of Acme Corp who can sign in. Make someone else an administrator first; nothing was changed.`,
    };
    await expect(status.disable(org, grace, { actor: 'cli' })).rejects.toMatchObject(refusal);
    await expect(status.changeRole(org, grace, 'member', { actor: 'cli' })).rejects.toMatchObject(refusal);
    expect(ended).toEqual([]);
    expect(await typesOf(grace)).toEqual([]);
  });

  it('records a role change with what it was and what it became', async () => {
    expect(await status.changeRole(org, ada, 'admin', byGrace())).toBe(true);
    expect(await status.changeRole(org, ada, 'admin', byGrace())).toBe(false);
    expect(await status.changeRole(org, grace, 'member', { actor: 'cli' })).toBe(true);
    expect(await typesOf(ada)).toEqual([['user.role_changed', grace.email, { from: 'member', to: 'admin' }]]);
    expect(await status.countEnabledAdmins(org)).toBe(1);
  });

  it("answers another organization's person as unknown", async () => {
    const outsider = await insertPerson(sql.db);
    await expect(status.disable(org, outsider, byGrace())).rejects.toMatchObject({
      code: 'unknown_person',
      status: 404,
    });
    expect(ended).toEqual([]);
  });
});
