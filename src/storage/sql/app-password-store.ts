import type { Selectable } from 'kysely';

import {
  PROTOCOL_SCOPES,
  type AppPasswordRecord,
  type AppPasswordStore,
  type ProtocolScope,
} from '../../ports/app-password-store.ts';
import { DuplicateError } from '../../ports/stores.ts';
import { isUniqueViolation } from './errors.ts';
import type { Database, Tables } from './tables.ts';

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
