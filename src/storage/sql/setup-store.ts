import type { SetupStore } from '../../ports/stores.ts';
import { organizationRow } from './organization-store.ts';
import type { Database } from './tables.ts';
import { userRow } from './user-store.ts';

export function createSqlSetupStore(db: Database): SetupStore {
  return {
    async insertSetupToken(tokenHash, expiresAt) {
      await db
        .insertInto('setup_tokens')
        .values({ token_hash: tokenHash, expires_at: expiresAt, used_at: null })
        .execute();
    },
    async consumeSetupToken(tokenHash, now, create) {
      return db.transaction().execute(async (trx) => {
        // The conditional UPDATE is the atomic consume: of two concurrent submissions one wins.
        const consumed = await trx
          .updateTable('setup_tokens')
          .set({ used_at: now })
          .where('token_hash', '=', tokenHash)
          .where('used_at', 'is', null)
          .where('expires_at', '>', now)
          .returning('token_hash')
          .executeTakeFirst();
        if (!consumed) return false;
        await trx.insertInto('organizations').values(organizationRow(create.organization)).execute();
        await trx.insertInto('users').values(userRow(create.admin, create.passwordHash)).execute();
        // Any other outstanding link dies with the first successful setup.
        await trx.updateTable('setup_tokens').set({ used_at: now }).where('used_at', 'is', null).execute();
        return true;
      });
    },
    async isLiveSetupToken(tokenHash, now) {
      const row = await db
        .selectFrom('setup_tokens')
        .select('token_hash')
        .where('token_hash', '=', tokenHash)
        .where('used_at', 'is', null)
        .where('expires_at', '>', now)
        .executeTakeFirst();
      return row !== undefined;
    },
  };
}
