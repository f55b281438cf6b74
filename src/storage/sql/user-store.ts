import { sql, type Insertable, type Selectable } from 'kysely';

import type { User, UserStore } from '../../ports/stores.ts';
import { EmailTakenError, normalizeEmail } from '../../ports/stores.ts';
import { isUniqueViolation } from './errors.ts';
import { ORGANIZATION_COLUMNS, organizationFromPrefixed } from './organization-store.ts';
import { sqlOf, statementsOf } from './statements.ts';
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
    disabled_at: user.disabledAt,
    tfa_grace_until: user.tfaGraceUntil,
    invited_at: user.invitedAt,
  };
}

/** The columns a User is made of, for reads that join the person under a prefix. */
export const USER_COLUMNS = [
  'id',
  'org_id',
  'email',
  'name',
  'phone',
  'role',
  'created_at',
  'password_changed_at',
  'disabled_at',
  'tfa_grace_until',
  'invited_at',
] as const satisfies readonly (keyof Tables['users'])[];
type UserColumns = Pick<Selectable<Tables['users']>, (typeof USER_COLUMNS)[number]>;

/** `u.email as u_email, …`: the person's columns of a joined read, each under `prefix`. */
export const prefixedUserColumns = (table: string, prefix: string): string =>
  USER_COLUMNS.map((column) => `${table}.${column} as ${prefix}${column}`).join(', ');

const orNumber = (value: unknown): number | null => (value === null || value === undefined ? null : Number(value));

/** The person of a joined row whose columns carry `prefix` (raw reads may give numbers as text). */
export function userFromPrefixed(row: Record<string, unknown>, prefix: string): User {
  const get = (column: (typeof USER_COLUMNS)[number]) => row[`${prefix}${column}`];
  return toUser({
    id: get('id') as string,
    org_id: get('org_id') as string,
    email: get('email') as string,
    name: get('name') as string | null,
    phone: get('phone') as string | null,
    role: get('role') as string,
    created_at: Number(get('created_at')),
    password_changed_at: Number(get('password_changed_at')),
    disabled_at: orNumber(get('disabled_at')),
    tfa_grace_until: orNumber(get('tfa_grace_until')),
    invited_at: orNumber(get('invited_at')),
  });
}

export function toUser(row: UserColumns): User {
  return {
    id: row.id,
    orgId: row.org_id,
    email: row.email,
    name: row.name,
    phone: row.phone,
    role: row.role === 'admin' ? 'admin' : 'member',
    createdAt: row.created_at,
    passwordChangedAt: row.password_changed_at,
    disabledAt: row.disabled_at,
    tfaGraceUntil: row.tfa_grace_until,
    invitedAt: row.invited_at,
  };
}

export function createSqlUserStore(db: Database): UserStore {
  const withOrganization = () =>
    db
      .selectFrom('users')
      .innerJoin('organizations', 'organizations.id', 'users.org_id')
      .selectAll('users')
      .select(ORGANIZATION_COLUMNS.map((column) => `organizations.${column} as o_${column}` as const));
  // The sign-in's lookups, built once (statements.ts): a person by email, and by subject.
  const statements = statementsOf(db);
  const byEmail = sqlOf(withOrganization().where('users.email_normalized', '=', ''));
  const bySubject = sqlOf(withOrganization().where('users.id', '=', ''));
  type Row = Selectable<Tables['users']>;
  const split = (row: Row) => ({
    user: toUser(row),
    organization: organizationFromPrefixed(row as unknown as Record<string, unknown>, 'o_'),
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
      const [row] = await statements.all<Row>(byEmail, [normalizeEmail(email)]);
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
      const [row] = await statements.all<Row>(bySubject, [subject]);
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
    async updateTfaGraceUntil(orgId, userId, until) {
      await db
        .updateTable('users')
        .set({ tfa_grace_until: until })
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
