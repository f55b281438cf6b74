import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';

import type { PersonTokenRecord } from '../../src/ports/person-token-store.ts';
import { EmailTakenError, type User } from '../../src/ports/stores.ts';
import { createSqlPersonLinkStore } from '../../src/storage/sql/person-link-store.ts';
import { createSqlPersonTokenStore } from '../../src/storage/sql/person-token-store.ts';
import { createSqlUserStore } from '../../src/storage/sql/user-store.ts';
import { DAY, race, T0 } from '../helpers/factor-stores.ts';
import { insertAccount, insertOrganization } from '../helpers/people.ts';
import { describeEachBackend, mapBackend, sqlBackends } from './backends.ts';

/** The writes of emailed links that belong together (invited person + link; spent link + password), on SQLite and PostgreSQL. */
const backends = sqlBackends().map((backend) =>
  mapBackend(backend, ({ db }) => ({
    db,
    links: createSqlPersonLinkStore(db),
    tokens: createSqlPersonTokenStore(db),
    users: createSqlUserStore(db),
  })),
);

const hash = (n: number) => n.toString(16).padStart(64, '0');

function aLink(owner: { orgId: string; userId: string }, n: number, overrides: Partial<PersonTokenRecord> = {}) {
  return {
    id: randomUUID(),
    orgId: owner.orgId,
    userId: owner.userId,
    purpose: 'invitation' as const,
    tokenHash: hash(n),
    createdAt: T0,
    expiresAt: T0 + DAY,
    usedAt: null,
    createdBy: 'admin@example.com',
    ...overrides,
  };
}

function anInvited(orgId: string, email: string): User {
  return {
    id: randomUUID(),
    orgId,
    email,
    name: 'Ivy',
    phone: null,
    role: 'member',
    createdAt: T0,
    passwordChangedAt: T0,
    disabledAt: null,
    tfaGraceUntil: null,
    invitedAt: T0,
  };
}

describeEachBackend(backends, (subject) => {
  describe('PersonLinkStore', () => {
    it('writes an invited person with their link, or neither when the email is taken', async () => {
      const { db, links, tokens, users } = subject();
      const org = await insertOrganization(db);
      const ivy = anInvited(org.id, 'ivy@example.com');
      await links.insertInvitedUser(ivy, '$unusable', aLink({ orgId: org.id, userId: ivy.id }, 1));
      expect((await users.findUserByEmail('IVY@example.com'))?.user).toEqual(ivy);
      expect(await tokens.findLivePersonToken('invitation', hash(1), T0)).toMatchObject({ userId: ivy.id });

      const twin = anInvited(org.id, 'ivy@example.com');
      await expect(links.insertInvitedUser(twin, '$x', aLink({ orgId: org.id, userId: twin.id }, 2))).rejects.toThrow(
        EmailTakenError,
      );
      expect(await tokens.findLivePersonToken('invitation', hash(2), T0)).toBeUndefined();
    });

    it('accepts an invitation once, even under a race: password, name and the end of the invitation together', async () => {
      const { db, links, users } = subject();
      const org = await insertOrganization(db);
      const ivy = anInvited(org.id, `ivy-${randomUUID()}@example.com`);
      await links.insertInvitedUser(ivy, '$unusable', aLink({ orgId: org.id, userId: ivy.id }, 3));
      const change = { passwordHash: '$chosen', changedAt: T0 + 5, name: 'Ivy Example' };
      const results = await race(5, () => links.setPasswordByLink('invitation', hash(3), T0 + 5, change));
      expect(results.filter((r) => r !== undefined)).toHaveLength(1);
      const found = (await users.findUserByEmail(ivy.email))!;
      expect(found.passwordHash).toBe('$chosen');
      expect(found.user).toMatchObject({ name: 'Ivy Example', invitedAt: null, passwordChangedAt: T0 + 5 });
    });

    it('spends a reset link and sets the password; an expired or foreign-purpose link writes nothing', async () => {
      const { db, links, tokens, users } = subject();
      const { user } = await insertAccount(db);
      const owner = { orgId: user.orgId, userId: user.id };
      await tokens.insertPersonToken(aLink(owner, 4, { purpose: 'password_reset', createdBy: null }));
      const change = { passwordHash: '$new', changedAt: T0 + 9 };
      expect(await links.setPasswordByLink('invitation', hash(4), T0 + 9, change)).toBeUndefined();
      expect(await links.setPasswordByLink('password_reset', hash(4), T0 + DAY, change)).toBeUndefined();
      expect((await users.findUserByEmail(user.email))!.passwordHash).toBe('$x');
      expect(await links.setPasswordByLink('password_reset', hash(4), T0 + 9, change)).toMatchObject({
        usedAt: T0 + 9,
      });
      expect((await users.findUserByEmail(user.email))!.passwordHash).toBe('$new');
      expect(await links.setPasswordByLink('password_reset', hash(4), T0 + 10, change)).toBeUndefined();
    });

    it('neither a reset completes an invitation nor an invitation a set-up account, and the link stays unspent', async () => {
      const { db, links, tokens, users } = subject();
      const org = await insertOrganization(db);
      const ivy = anInvited(org.id, `ivy-${randomUUID()}@example.com`);
      await links.insertInvitedUser(ivy, '$unusable', aLink({ orgId: org.id, userId: ivy.id }, 5));
      await tokens.insertPersonToken(aLink({ orgId: org.id, userId: ivy.id }, 6, { purpose: 'password_reset' }));
      expect(
        await links.setPasswordByLink('password_reset', hash(6), T0 + 1, { passwordHash: '$r', changedAt: T0 }),
      ).toBeUndefined();
      expect(await tokens.findLivePersonToken('password_reset', hash(6), T0 + 2)).toBeDefined();

      const { user } = await insertAccount(db, org);
      await tokens.insertPersonToken(aLink({ orgId: org.id, userId: user.id }, 7));
      expect(
        await links.setPasswordByLink('invitation', hash(7), T0 + 1, { passwordHash: '$i', changedAt: T0 }),
      ).toBeUndefined();
      expect(await tokens.findLivePersonToken('invitation', hash(7), T0 + 2)).toBeDefined();
      expect((await users.findUserByEmail(user.email))!.passwordHash).toBe('$x');
    });

    it('deletes only a pending invitee of the organization, with their links', async () => {
      const { db, links, tokens, users } = subject();
      const org = await insertOrganization(db);
      const other = await insertOrganization(db);
      const ivy = anInvited(org.id, `ivy-${randomUUID()}@example.com`);
      await links.insertInvitedUser(ivy, '$unusable', aLink({ orgId: org.id, userId: ivy.id }, 8));
      const { user } = await insertAccount(db, org);
      expect(await links.deleteInvitedUser(other.id, ivy.id)).toBe(false);
      expect(await links.deleteInvitedUser(org.id, user.id)).toBe(false);
      expect(await users.findUserBySubject(user.id)).toBeDefined();
      expect(await links.deleteInvitedUser(org.id, ivy.id)).toBe(true);
      expect(await users.findUserBySubject(ivy.id)).toBeUndefined();
      expect(await tokens.findLivePersonToken('invitation', hash(8), T0)).toBeUndefined();
    });
  });
});
