import type { Selectable } from 'kysely';

import {
  PERSON_TOKEN_PURPOSES,
  type PersonTokenPurpose,
  type PersonTokenRecord,
  type PersonTokenStore,
} from '../../ports/person-token-store.ts';
import { sqlOf, statementsOf } from './statements.ts';
import type { Database, Tables } from './tables.ts';

export function toPersonToken(row: Selectable<Tables['person_tokens']>): PersonTokenRecord {
  if (!(PERSON_TOKEN_PURPOSES as readonly string[]).includes(row.purpose)) {
    throw new Error(`unknown person token purpose "${row.purpose}"`);
  }
  return {
    id: row.id,
    orgId: row.org_id,
    userId: row.user_id,
    purpose: row.purpose as PersonTokenPurpose,
    tokenHash: row.token_hash,
    createdAt: row.created_at,
    expiresAt: row.expires_at,
    usedAt: row.used_at,
    createdBy: row.created_by,
  };
}

export function createSqlPersonTokenStore(db: Database): PersonTokenStore {
  // Looked up on every sign-in (statements.ts); values: org, user, purpose, now.
  const statements = statementsOf(db);
  const liveTokenOf = sqlOf(
    db
      .selectFrom('person_tokens')
      .selectAll()
      .where('org_id', '=', '')
      .where('user_id', '=', '')
      .where('purpose', '=', '')
      .where('used_at', 'is', null)
      .where('expires_at', '>', 0)
      .orderBy('created_at', 'desc'),
  );
  return {
    async insertPersonToken(token) {
      await db.transaction().execute(async (trx) => {
        await trx
          .updateTable('person_tokens')
          .set({ used_at: token.createdAt })
          .where('org_id', '=', token.orgId)
          .where('user_id', '=', token.userId)
          .where('purpose', '=', token.purpose)
          .where('used_at', 'is', null)
          .execute();
        await trx
          .insertInto('person_tokens')
          .values({
            id: token.id,
            org_id: token.orgId,
            user_id: token.userId,
            purpose: token.purpose,
            token_hash: token.tokenHash,
            created_at: token.createdAt,
            expires_at: token.expiresAt,
            used_at: token.usedAt,
            created_by: token.createdBy,
          })
          .execute();
      });
    },
    async findLivePersonToken(purpose, tokenHash, now) {
      const row = await db
        .selectFrom('person_tokens')
        .selectAll()
        .where('token_hash', '=', tokenHash)
        .where('purpose', '=', purpose)
        .where('used_at', 'is', null)
        .where('expires_at', '>', now)
        .executeTakeFirst();
      return row && toPersonToken(row);
    },
    async findLivePersonTokenOf(orgId, userId, purpose, now) {
      const [row] = await statements.all<Selectable<Tables['person_tokens']>>(liveTokenOf, [
        orgId,
        userId,
        purpose,
        now,
      ]);
      return row && toPersonToken(row);
    },
    async consumePersonToken(purpose, tokenHash, now) {
      const row = await db
        .updateTable('person_tokens')
        .set({ used_at: now })
        .where('token_hash', '=', tokenHash)
        .where('purpose', '=', purpose)
        .where('used_at', 'is', null)
        .where('expires_at', '>', now)
        .returningAll()
        .executeTakeFirst();
      return row && toPersonToken(row);
    },
    async revokePersonTokens(orgId, userId, now, purpose) {
      let query = db
        .updateTable('person_tokens')
        .set({ used_at: now })
        .where('org_id', '=', orgId)
        .where('user_id', '=', userId)
        .where('used_at', 'is', null);
      if (purpose !== undefined) query = query.where('purpose', '=', purpose);
      const result = await query.executeTakeFirst();
      return Number(result.numUpdatedRows);
    },
  };
}
