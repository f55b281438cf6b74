import type { RecoveryCodeStore } from '../../ports/factor-stores.ts';
import type { Random } from '../../ports/random.ts';
import { sqlOf, statementsOf } from './statements.ts';
import type { Database } from './tables.ts';

export function createSqlRecoveryCodeStore(db: Database, random: Random): RecoveryCodeStore {
  // Counted on every second step (statements.ts).
  const statements = statementsOf(db);
  const unusedCount = sqlOf(
    db
      .selectFrom('recovery_codes')
      .select((eb) => eb.fn.countAll<number | string>().as('n'))
      .where('org_id', '=', '')
      .where('user_id', '=', '')
      .where('used_at', 'is', null),
  );
  return {
    async replaceRecoveryCodes(orgId, userId, hashes, now) {
      await db.transaction().execute(async (trx) => {
        await trx.deleteFrom('recovery_codes').where('org_id', '=', orgId).where('user_id', '=', userId).execute();
        if (hashes.length === 0) return;
        await trx
          .insertInto('recovery_codes')
          .values(
            hashes.map((code_hash) => ({
              id: random.uuid(),
              org_id: orgId,
              user_id: userId,
              code_hash,
              used_at: null,
              created_at: now,
            })),
          )
          .execute();
      });
    },
    async consumeRecoveryCode(orgId, userId, hash, now) {
      const row = await db
        .updateTable('recovery_codes')
        .set({ used_at: now })
        .where('org_id', '=', orgId)
        .where('user_id', '=', userId)
        .where('code_hash', '=', hash)
        .where('used_at', 'is', null)
        .returning('id')
        .executeTakeFirst();
      return row !== undefined;
    },
    async countUnusedRecoveryCodes(orgId, userId) {
      const [row] = await statements.all<{ n: number | string }>(unusedCount, [orgId, userId]);
      return Number(row!.n);
    },
  };
}
