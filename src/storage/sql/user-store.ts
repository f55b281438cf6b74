import { sql, type Insertable } from 'kysely';

import type { User, UserStore } from '../../ports/stores.ts';
import { EmailTakenError, normalizeEmail } from '../../ports/stores.ts';
import { isUniqueViolation } from './errors.ts';
import { toOrganization } from './organization-store.ts';
import type { Database, Tables } from './tables.ts';

export function userRow(user: User, passwordHash: string): Insertable<Tables['users']> {
  return {
    id: user.id,
    org_id: user.orgId,
    email: user.email,
    email_normalized: normalizeEmail(user.email),
    name: user.name,
    phone: user.phone,
    role: user.role,
    password_hash: passwordHash,
    created_at: user.createdAt,
    password_changed_at: user.passwordChangedAt,
  };
}

export function toUser(
  row: Pick<
    Tables['users'],
    'id' | 'org_id' | 'email' | 'name' | 'phone' | 'role' | 'created_at' | 'password_changed_at'
  >,
): User {
  return {
    id: row.id,
    orgId: row.org_id,
    email: row.email,
    name: row.name,
    phone: row.phone,
    role: row.role === 'admin' ? 'admin' : 'member',
    createdAt: row.created_at,
    passwordChangedAt: row.password_changed_at,
  };
}

export function createSqlUserStore(db: Database): UserStore {
  const withOrganization = () =>
    db
      .selectFrom('users')
      .innerJoin('organizations', 'organizations.id', 'users.org_id')
      .selectAll('users')
      .select([
        'organizations.slug as o_slug',
        'organizations.name as o_name',
        'organizations.enforce_tfa as o_enforce_tfa',
        'organizations.password_min_length as o_password_min_length',
        'organizations.created_at as o_created_at',
        'organizations.trusted_browser_days as o_trusted_browser_days',
        'organizations.app_passwords as o_app_passwords',
        'organizations.legacy_password_access as o_legacy_password_access',
      ]);
  type Joined = Omit<Tables['users'], 'preferred_factor_id' | 'webauthn_handle'> & {
    o_trusted_browser_days: number;
    o_slug: string;
    o_name: string;
    o_enforce_tfa: number;
    o_password_min_length: number | null;
    o_created_at: number;
    o_app_passwords: string;
    o_legacy_password_access: number;
  };
  const split = (row: Joined) => ({
    user: toUser(row),
    organization: toOrganization({
      id: row.org_id,
      slug: row.o_slug,
      name: row.o_name,
      enforce_tfa: row.o_enforce_tfa,
      password_min_length: row.o_password_min_length,
      created_at: row.o_created_at,
      trusted_browser_days: row.o_trusted_browser_days,
      app_passwords: row.o_app_passwords,
      legacy_password_access: row.o_legacy_password_access,
    }),
  });

  return {
    async insertUser(user, passwordHash) {
      try {
        await db.insertInto('users').values(userRow(user, passwordHash)).execute();
      } catch (error) {
        if (isUniqueViolation(error)) throw new EmailTakenError('a user with this email already exists');
        throw error;
      }
    },
    async findUserByEmail(email) {
      const row = await withOrganization()
        .where('users.email_normalized', '=', normalizeEmail(email))
        .executeTakeFirst();
      return row && { ...split(row), passwordHash: row.password_hash };
    },
    async listUsers(orgId, { search, limit }) {
      let query = db.selectFrom('users').selectAll().where('org_id', '=', orgId);
      const needle = search.trim().toLowerCase();
      if (needle) {
        // LIKE with the wildcards of the search itself escaped: a "%" typed matches a "%".
        const pattern = `%${needle.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
        query = query.where((eb) =>
          eb.or([
            eb(eb.fn('lower', ['email']), 'like', sql<string>`${pattern} escape '\\'`),
            eb(eb.fn('lower', ['name']), 'like', sql<string>`${pattern} escape '\\'`),
          ]),
        );
      }
      const rows = await query.orderBy('email_normalized').limit(limit).execute();
      return rows.map(toUser);
    },
    async findUserBySubject(subject) {
      const row = await withOrganization().where('users.id', '=', subject).executeTakeFirst();
      return row && split(row);
    },
    async updatePasswordHash(orgId, userId, passwordHash) {
      await db
        .updateTable('users')
        .set({ password_hash: passwordHash })
        .where('org_id', '=', orgId)
        .where('id', '=', userId)
        .execute();
    },
    async updatePassword(orgId, userId, passwordHash, changedAt) {
      await db
        .updateTable('users')
        .set({ password_hash: passwordHash, password_changed_at: changedAt })
        .where('org_id', '=', orgId)
        .where('id', '=', userId)
        .execute();
    },
  };
}
