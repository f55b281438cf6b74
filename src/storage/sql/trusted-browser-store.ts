import type { TrustedBrowser, TrustedBrowserStore } from '../../ports/factor-stores.ts';
import type { Database, Tables } from './tables.ts';

function toTrustedBrowser(row: Tables['trusted_browsers']): TrustedBrowser {
  return {
    id: row.id,
    orgId: row.org_id,
    userId: row.user_id,
    tokenHash: row.token_hash,
    label: row.label,
    createdAt: row.created_at,
    expiresAt: row.expires_at,
    lastUsedAt: row.last_used_at,
  };
}

export function createSqlTrustedBrowserStore(db: Database): TrustedBrowserStore {
  const mine = (orgId: string, userId: string, now: number) =>
    db
      .selectFrom('trusted_browsers')
      .selectAll()
      .where('org_id', '=', orgId)
      .where('user_id', '=', userId)
      .where('expires_at', '>', now);
  return {
    async insertTrustedBrowser(b) {
      await db
        .insertInto('trusted_browsers')
        .values({
          id: b.id,
          org_id: b.orgId,
          user_id: b.userId,
          token_hash: b.tokenHash,
          label: b.label,
          created_at: b.createdAt,
          expires_at: b.expiresAt,
          last_used_at: b.lastUsedAt,
        })
        .execute();
    },
    async findTrustedBrowser(orgId, userId, tokenHash, now) {
      const row = await mine(orgId, userId, now).where('token_hash', '=', tokenHash).executeTakeFirst();
      return row && toTrustedBrowser(row);
    },
    async listTrustedBrowsers(orgId, userId, now) {
      return (await mine(orgId, userId, now).orderBy('created_at', 'desc').execute()).map(toTrustedBrowser);
    },
    async deleteTrustedBrowser(orgId, userId, id) {
      const result = await db
        .deleteFrom('trusted_browsers')
        .where('org_id', '=', orgId)
        .where('user_id', '=', userId)
        .where('id', '=', id)
        .executeTakeFirst();
      return Number(result.numDeletedRows) > 0;
    },
    async touchTrustedBrowser(orgId, userId, id, now) {
      await db
        .updateTable('trusted_browsers')
        .set({ last_used_at: now })
        .where('org_id', '=', orgId)
        .where('user_id', '=', userId)
        .where('id', '=', id)
        .execute();
    },
  };
}
