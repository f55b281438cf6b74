import type { Selectable } from 'kysely';

import {
  PROTOCOL_SCOPES,
  type AppPasswordRecord,
  type AppPasswordStore,
  type ProtocolScope,
} from '../../ports/app-password-store.ts';
import { DuplicateError } from '../../ports/stores.ts';
import { isUniqueViolation } from './errors.ts';
import { organizationFromPrefixed, prefixedOrganizationColumns } from './organization-store.ts';
import { statementsOf } from './statements.ts';
import type { Database, Tables } from './tables.ts';
import { prefixedUserColumns, userFromPrefixed } from './user-store.ts';

interface OwnerRow extends Selectable<Tables['app_passwords']> {
  has_factor: number | string;
}

const isScope = (s: string): s is ProtocolScope => (PROTOCOL_SCOPES as readonly string[]).includes(s);

function toAppPassword(row: Selectable<Tables['app_passwords']>): AppPasswordRecord {
  return {
    id: row.id,
    orgId: row.org_id,
    userId: row.user_id,
    name: row.name,
    digest: row.digest,
    scopes: row.scopes.split(' ').filter(isScope),
    createdAt: Number(row.created_at),
    expiresAt: row.expires_at === null ? null : Number(row.expires_at),
    lastUsedAt: row.last_used_at === null ? null : Number(row.last_used_at),
    lastUsedIp: row.last_used_ip,
    lastUsedProtocol: row.last_used_protocol,
  };
}

export function createSqlAppPasswordStore(db: Database): AppPasswordStore {
  // The legacy grant's one read (statements.ts): the app password by its digest, its person and
  // organization, and whether the person has an active factor.
  const statements = statementsOf(db);
  const ownerByDigest = `
    select ap.*, ${prefixedUserColumns('u', 'u_')}, ${prefixedOrganizationColumns('o', 'o_')},
      case when exists (select 1 from factors f where f.org_id = ap.org_id and f.user_id = ap.user_id and f.active = 1)
        then 1 else 0 end as has_factor
    from app_passwords ap
    join users u on u.id = ap.user_id and u.org_id = ap.org_id
    join organizations o on o.id = ap.org_id
    where ap.digest = ?`;
  return {
    async insertAppPassword(r) {
      try {
        await db
          .insertInto('app_passwords')
          .values({
            id: r.id,
            org_id: r.orgId,
            user_id: r.userId,
            name: r.name,
            digest: r.digest,
            scopes: r.scopes.join(' '),
            created_at: r.createdAt,
            expires_at: r.expiresAt,
            last_used_at: r.lastUsedAt,
            last_used_ip: r.lastUsedIp,
            last_used_protocol: r.lastUsedProtocol,
          })
          .execute();
      } catch (error) {
        if (isUniqueViolation(error)) throw new DuplicateError('an app password with this digest already exists');
        throw error;
      }
    },
    async findAppPasswords(orgId, userId) {
      const rows = await db
        .selectFrom('app_passwords')
        .selectAll()
        .where('org_id', '=', orgId)
        .where('user_id', '=', userId)
        .orderBy('created_at', 'desc')
        .orderBy('id')
        .execute();
      return rows.map(toAppPassword);
    },
    async findAppPasswordByDigest(digest) {
      const row = await db.selectFrom('app_passwords').selectAll().where('digest', '=', digest).executeTakeFirst();
      return row && toAppPassword(row);
    },
    async findAppPasswordOwner(digest) {
      const rows = await statements.all<OwnerRow>(ownerByDigest, [digest]);
      const row = rows[0];
      if (!row) return undefined;
      const user = userFromPrefixed(row as unknown as Record<string, unknown>, 'u_');
      const organization = organizationFromPrefixed(row as unknown as Record<string, unknown>, 'o_');
      return {
        record: toAppPassword(row),
        account: { user, organization },
        hasActiveFactor: Number(row.has_factor) === 1,
      };
    },
    async deleteAppPassword(orgId, userId, id) {
      const result = await db
        .deleteFrom('app_passwords')
        .where('org_id', '=', orgId)
        .where('user_id', '=', userId)
        .where('id', '=', id)
        .executeTakeFirst();
      return Number(result.numDeletedRows) > 0;
    },
    async deleteAllAppPasswords(orgId, userId) {
      const rows = await db
        .deleteFrom('app_passwords')
        .where('org_id', '=', orgId)
        .where('user_id', '=', userId)
        .returning('id')
        .execute();
      return rows.map((row) => row.id);
    },
    async recordAppPasswordUses(uses) {
      if (uses.length === 0) return;
      // One transaction for the batch; an update of a deleted row simply matches nothing.
      await db.transaction().execute(async (trx) => {
        for (const use of uses) {
          await trx
            .updateTable('app_passwords')
            .set({
              last_used_at: use.at,
              last_used_ip: use.ip.slice(0, 64),
              last_used_protocol: use.protocol.slice(0, 32),
            })
            .where('id', '=', use.id)
            .execute();
        }
      });
    },
  };
}
