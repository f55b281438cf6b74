import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ORGANIZATION_POLICY_DEFAULTS } from '../../src/domain/organizations.ts';

import {
  DuplicateError,
  EmailTakenError,
  type AuditEvent,
  type AuditStore,
  type ClientRecord,
  type ClientStore,
  type Organization,
  type OrganizationStore,
  type SetupStore,
  type User,
  type UserStore,
} from '../../src/ports/stores.ts';
import { createSqlAuditStore } from '../../src/storage/sql/audit-store.ts';
import { createSqlClientStore } from '../../src/storage/sql/client-store.ts';
import { createSqlOrganizationStore } from '../../src/storage/sql/organization-store.ts';
import { createSqlSetupStore } from '../../src/storage/sql/setup-store.ts';
import { createSqlUserStore } from '../../src/storage/sql/user-store.ts';
import { uniqueName } from '../helpers/backends.ts';
import { describeEachBackend, mapBackend, sqlBackends, type Backend } from './backends.ts';

/** The durable stores' contract on SQLite and PostgreSQL (one SQL layer, two dialects). */
interface Subject {
  organizations: OrganizationStore;
  users: UserStore;
  clients: ClientStore;
  setup: SetupStore;
  audit: AuditStore;
}

const backends: Backend<Subject>[] = sqlBackends().map((backend) =>
  mapBackend(backend, ({ db }) => ({
    organizations: createSqlOrganizationStore(db),
    users: createSqlUserStore(db),
    clients: createSqlClientStore(db),
    setup: createSqlSetupStore(db),
    audit: createSqlAuditStore(db),
  })),
);

const T0 = Date.UTC(2031, 0, 1);

function anOrganization(overrides: Partial<Organization> = {}): Organization {
  return {
    id: randomUUID(),
    slug: uniqueName('org').replace('_', '-'),
    name: 'Acme Corp',
    enforceTfa: false,
    passwordMinLength: null,
    trustedBrowserDays: 30,
    appPasswords: 'tfa',
    legacyPasswordAccess: false,
    ...ORGANIZATION_POLICY_DEFAULTS,
    createdAt: T0,
    ...overrides,
  };
}

function aUser(orgId: string, overrides: Partial<User> = {}): User {
  const email = `${uniqueName('user')}@example.com`;
  return {
    id: randomUUID(),
    orgId,
    email,
    name: 'Alice Example',
    phone: null,
    role: 'member',
    createdAt: T0,
    passwordChangedAt: T0,
    disabledAt: null,
    tfaGraceUntil: null,
    invitedAt: null,
    ...overrides,
  };
}

function aClient(overrides: Partial<ClientRecord> = {}): ClientRecord {
  return {
    clientId: uniqueName('client'),
    name: 'Example App',
    metadata: {
      redirect_uris: ['https://rp.example/callback'],
      token_endpoint_auth_method: 'client_secret_basic',
      grant_types: ['authorization_code', 'refresh_token'],
    },
    sealedSecret: 'v1.sealed',
    firstParty: false,
    accountApi: false,
    introspection: false,
    forwardAuth: false,
    adminApi: false,
    createdAt: T0,
    ...overrides,
  };
}

function firstRun(overrides: { email?: string } = {}) {
  const organization = anOrganization();
  return {
    organization,
    admin: aUser(organization.id, { role: 'admin', ...overrides }),
    passwordHash: '$argon2id$admin',
  };
}

describeEachBackend(backends, (subject) => {
  describe('OrganizationStore', () => {
    it('finds an inserted organization by its slug', async () => {
      const { organizations } = subject();
      const org = anOrganization({ enforceTfa: true, passwordMinLength: 14 });
      await organizations.insertOrganization(org);
      expect(await organizations.findOrganizationBySlug(org.slug)).toEqual(org);
      expect(await organizations.findOrganizationBySlug(uniqueName('missing'))).toBeUndefined();
    });

    it('rejects a second organization with the same slug as a DuplicateError', async () => {
      const { organizations } = subject();
      const org = anOrganization();
      await organizations.insertOrganization(org);
      await expect(organizations.insertOrganization(anOrganization({ slug: org.slug }))).rejects.toBeInstanceOf(
        DuplicateError,
      );
    });

    it('counts organizations', async () => {
      const { organizations } = subject();
      const before = await organizations.countOrganizations();
      await organizations.insertOrganization(anOrganization());
      await organizations.insertOrganization(anOrganization());
      expect(await organizations.countOrganizations()).toBe(before + 2);
    });
  });

  describe('UserStore', () => {
    it('finds a user by email case-insensitively, with its organization and password hash', async () => {
      const { organizations, users } = subject();
      const org = anOrganization();
      await organizations.insertOrganization(org);
      const user = aUser(org.id, { email: 'Alice.Mixed@Example.com', phone: '+15551234567' });
      await users.insertUser(user, '$argon2id$hash');
      expect(await users.findUserByEmail('ALICE.MIXED@example.COM')).toEqual({
        user,
        organization: org,
        passwordHash: '$argon2id$hash',
      });
      expect(await users.findUserByEmail('nobody@example.com')).toBeUndefined();
    });

    it('findUserBySubject joins the organization and never returns the password hash', async () => {
      const { organizations, users } = subject();
      const org = anOrganization({ enforceTfa: true, passwordMinLength: 12 });
      await organizations.insertOrganization(org);
      const user = aUser(org.id, { role: 'admin' });
      await users.insertUser(user, '$argon2id$hash');
      expect(await users.findUserBySubject(user.id)).toStrictEqual({ user, organization: org });
      expect(await users.findUserBySubject(randomUUID())).toBeUndefined();
    });

    it('rejects the same email in another case, even in another organization, as EmailTakenError', async () => {
      const { organizations, users } = subject();
      const [org, other] = [anOrganization(), anOrganization()];
      await organizations.insertOrganization(org);
      await organizations.insertOrganization(other);
      const email = `${uniqueName('bob')}@example.com`;
      await users.insertUser(aUser(org.id, { email }), 'h1');
      await expect(users.insertUser(aUser(other.id, { email: email.toUpperCase() }), 'h2')).rejects.toBeInstanceOf(
        EmailTakenError,
      );
    });

    it('updatePasswordHash is scoped by organization: a wrong organization changes nothing', async () => {
      const { organizations, users } = subject();
      const [org, other] = [anOrganization(), anOrganization()];
      await organizations.insertOrganization(org);
      await organizations.insertOrganization(other);
      const user = aUser(org.id);
      await users.insertUser(user, 'old-hash');

      await users.updatePasswordHash(other.id, user.id, 'attacker-hash');
      expect((await users.findUserByEmail(user.email))?.passwordHash).toBe('old-hash');

      await users.updatePasswordHash(org.id, user.id, 'new-hash');
      expect((await users.findUserByEmail(user.email))?.passwordHash).toBe('new-hash');
    });

    it("updateTfaGraceUntil sets and clears a person's deadline, only within their organization", async () => {
      const { organizations, users } = subject();
      const [org, other] = [anOrganization(), anOrganization()];
      await organizations.insertOrganization(org);
      await organizations.insertOrganization(other);
      const user = aUser(org.id);
      await users.insertUser(user, 'hash');

      await users.updateTfaGraceUntil(other.id, user.id, 4_102_444_800_000);
      expect((await users.findUserBySubject(user.id))?.user.tfaGraceUntil).toBeNull();
      await users.updateTfaGraceUntil(org.id, user.id, 4_102_444_800_000);
      expect((await users.findUserBySubject(user.id))?.user.tfaGraceUntil).toBe(4_102_444_800_000);
      await users.updateTfaGraceUntil(org.id, user.id, null);
      expect((await users.findUserBySubject(user.id))?.user.tfaGraceUntil).toBeNull();
    });
  });

  describe('ClientStore', () => {
    it('finds an inserted client with its metadata, secret and first-party flag', async () => {
      const { clients } = subject();
      const confidential = aClient({ firstParty: true });
      const pub = aClient({ name: null, sealedSecret: null, metadata: { token_endpoint_auth_method: 'none' } });
      await clients.insertClient(confidential);
      await clients.insertClient(pub);
      expect(await clients.findClient(confidential.clientId)).toEqual(confidential);
      expect(await clients.findClient(pub.clientId)).toEqual(pub);
      expect(await clients.findClient(uniqueName('missing'))).toBeUndefined();
    });

    it('lists clients oldest first', async () => {
      const { clients } = subject();
      const later = aClient({ createdAt: T0 + 2000 });
      const earlier = aClient({ createdAt: T0 + 1000 });
      await clients.insertClient(later);
      await clients.insertClient(earlier);
      const ids = (await clients.listClients()).map((c) => c.clientId);
      expect(ids).toEqual(expect.arrayContaining([earlier.clientId, later.clientId]));
      expect(ids.indexOf(earlier.clientId)).toBeLessThan(ids.indexOf(later.clientId));
    });

    it('rejects a second client with the same id as a DuplicateError', async () => {
      const { clients } = subject();
      const client = aClient();
      await clients.insertClient(client);
      await expect(clients.insertClient(aClient({ clientId: client.clientId }))).rejects.toBeInstanceOf(DuplicateError);
    });
  });

  describe('SetupStore', () => {
    it('consumeSetupToken creates the organization and its admin together', async () => {
      const { setup, organizations, users } = subject();
      const token = uniqueName('token');
      await setup.insertSetupToken(token, T0 + 3_600_000);
      expect(await setup.isLiveSetupToken(token, T0)).toBe(true);

      const create = firstRun();
      expect(await setup.consumeSetupToken(token, T0, create)).toBe(true);
      expect(await organizations.findOrganizationBySlug(create.organization.slug)).toEqual(create.organization);
      expect(await users.findUserByEmail(create.admin.email)).toEqual({
        user: create.admin,
        organization: create.organization,
        passwordHash: create.passwordHash,
      });
      expect(await setup.isLiveSetupToken(token, T0)).toBe(false);
    });

    it('a replayed setup token answers false and writes nothing', async () => {
      const { setup, organizations, users } = subject();
      const token = uniqueName('token');
      await setup.insertSetupToken(token, T0 + 3_600_000);
      expect(await setup.consumeSetupToken(token, T0, firstRun())).toBe(true);

      const replay = firstRun();
      expect(await setup.consumeSetupToken(token, T0 + 1000, replay)).toBe(false);
      expect(await organizations.findOrganizationBySlug(replay.organization.slug)).toBeUndefined();
      expect(await users.findUserByEmail(replay.admin.email)).toBeUndefined();
    });

    it('an expired or unknown setup token answers false and writes nothing', async () => {
      const { setup, organizations } = subject();
      const token = uniqueName('token');
      await setup.insertSetupToken(token, T0 + 1000);
      expect(await setup.isLiveSetupToken(token, T0 + 1000)).toBe(false);

      const atExpiry = firstRun();
      expect(await setup.consumeSetupToken(token, T0 + 1000, atExpiry)).toBe(false);
      const unknown = firstRun();
      expect(await setup.consumeSetupToken(uniqueName('token'), T0, unknown)).toBe(false);
      expect(await organizations.findOrganizationBySlug(atExpiry.organization.slug)).toBeUndefined();
      expect(await organizations.findOrganizationBySlug(unknown.organization.slug)).toBeUndefined();
    });

    it('when the admin cannot be inserted the transaction rolls back: no organization, token still live', async () => {
      const { setup, organizations, users } = subject();
      const existing = anOrganization();
      await organizations.insertOrganization(existing);
      const taken = aUser(existing.id);
      await users.insertUser(taken, 'h');
      const token = uniqueName('token');
      await setup.insertSetupToken(token, T0 + 3_600_000);

      const clash = firstRun({ email: taken.email.toUpperCase() });
      await expect(setup.consumeSetupToken(token, T0, clash)).rejects.toThrow();
      expect(await organizations.findOrganizationBySlug(clash.organization.slug)).toBeUndefined();
      expect(await setup.isLiveSetupToken(token, T0)).toBe(true);

      // The token was not spent by the failed attempt: setup can be completed with another email.
      const retry = firstRun();
      expect(await setup.consumeSetupToken(token, T0, retry)).toBe(true);
      expect(await organizations.findOrganizationBySlug(retry.organization.slug)).toEqual(retry.organization);
    });

    it('a successful setup also kills every other outstanding setup link', async () => {
      const { setup } = subject();
      const [used, outstanding] = [uniqueName('token'), uniqueName('token')];
      await setup.insertSetupToken(used, T0 + 3_600_000);
      await setup.insertSetupToken(outstanding, T0 + 3_600_000);
      expect(await setup.consumeSetupToken(used, T0, firstRun())).toBe(true);
      expect(await setup.isLiveSetupToken(outstanding, T0)).toBe(false);
      expect(await setup.consumeSetupToken(outstanding, T0, firstRun())).toBe(false);
    });

    it('of 10 concurrent consumes of one setup token exactly one succeeds', async () => {
      const { setup, organizations } = subject();
      const token = uniqueName('token');
      await setup.insertSetupToken(token, T0 + 3_600_000);
      const attempts = Array.from({ length: 10 }, () => firstRun());

      const results = await Promise.all(attempts.map((create) => setup.consumeSetupToken(token, T0, create)));
      expect(results.filter(Boolean)).toHaveLength(1);
      const created = await Promise.all(attempts.map((a) => organizations.findOrganizationBySlug(a.organization.slug)));
      expect(created.filter((org) => org !== undefined)).toHaveLength(1);
      expect(created[results.indexOf(true)]).toBeDefined();
    });
  });

  describe('AuditStore', () => {
    it('lists an account’s events newest first, scoped by organization and user, up to the limit', async () => {
      const { audit } = subject();
      const [orgId, otherOrg, userId, otherUser] = [randomUUID(), randomUUID(), randomUUID(), randomUUID()];
      const event = (at: number, overrides: Partial<AuditEvent> = {}): AuditEvent => ({
        id: randomUUID(),
        orgId,
        userId,
        type: 'login.succeeded',
        at,
        ip: '203.0.113.7',
        detail: { method: 'pwd', nested: { attempts: 1 } },
        actor: 'admin@example.com',
        userAgent: 'Mozilla/5.0 (X11; Linux x86_64)',
        requestId: 'req-1',
        ...overrides,
      });
      const [oldest, middle, newest] = [
        event(T0),
        event(T0 + 1000, { ip: null, detail: {} }),
        event(T0 + 2000, { type: 'login.failed' }),
      ];
      for (const e of [middle, newest, oldest]) await audit.insertAuditEvent(e);
      await audit.insertAuditEvent(event(T0 + 5000, { userId: otherUser }));
      await audit.insertAuditEvent(event(T0 + 5000, { orgId: otherOrg }));
      await audit.insertAuditEvent(event(T0 + 5000, { orgId: null, userId: null, type: 'setup.completed' }));

      expect(await audit.listAuditEvents(orgId, userId, 10)).toEqual([newest, middle, oldest]);
      expect(await audit.listAuditEvents(orgId, userId, 2)).toEqual([newest, middle]);
      expect(await audit.listAuditEvents(orgId, randomUUID(), 10)).toEqual([]);
    });

    it("finds each person's latest event of a type in one organization, or one person's only", async () => {
      const { audit } = subject();
      const [orgId, otherOrg, ada, bob] = [randomUUID(), randomUUID(), randomUUID(), randomUUID()];
      const event = (userId: string | null, at: number, overrides: Partial<AuditEvent> = {}): AuditEvent => ({
        id: randomUUID(),
        orgId,
        userId,
        type: 'signin.succeeded',
        at,
        ip: null,
        detail: {},
        actor: null,
        userAgent: null,
        requestId: null,
        ...overrides,
      });
      for (const e of [
        event(ada, T0 + 1000),
        event(ada, T0 + 3000),
        event(ada, T0 + 9000, { type: 'signin.password_failed' }),
        event(bob, T0 + 2000),
        event(bob, T0 + 8000, { orgId: otherOrg }),
        event(null, T0 + 9000),
      ])
        await audit.insertAuditEvent(e);
      expect(await audit.findLatestEventTimes(orgId, 'signin.succeeded')).toEqual(
        new Map([
          [ada, T0 + 3000],
          [bob, T0 + 2000],
        ]),
      );
      expect(await audit.findLatestEventTimes(orgId, 'signin.succeeded', bob)).toEqual(new Map([[bob, T0 + 2000]]));
      expect(await audit.findLatestEventTimes(otherOrg, 'setup.completed')).toEqual(new Map());
    });
  });
});
