import type { PersonLinkStore } from '../../ports/person-link-store.ts';
import { EmailTakenError } from '../../ports/stores.ts';
import { isUniqueViolation } from './errors.ts';
import { toPersonToken } from './person-token-store.ts';
import type { Database } from './tables.ts';
import { userRow } from './user-store.ts';

/** Thrown inside a transaction to roll it back when the person no longer matches the link. */
class Mismatch extends Error {}

export function createSqlPersonLinkStore(db: Database): PersonLinkStore {
  return {
    async insertInvitedUser(user, passwordHash, invitation) {
      try {
        await db.transaction().execute(async (trx) => {
          await trx.insertInto('users').values(userRow(user, passwordHash)).execute();
          await trx
            .insertInto('person_tokens')
            .values({
              id: invitation.id,
              org_id: invitation.orgId,
              user_id: invitation.userId,
              purpose: invitation.purpose,
              token_hash: invitation.tokenHash,
              created_at: invitation.createdAt,
              expires_at: invitation.expiresAt,
              used_at: invitation.usedAt,
              created_by: invitation.createdBy,
            })
            .execute();
        });
      } catch (error) {
        if (isUniqueViolation(error)) throw new EmailTakenError('a user with this email already exists');
        throw error;
      }
    },
    async setPasswordByLink(purpose, tokenHash, now, change) {
      const accepting = purpose === 'invitation';
      try {
        return await db.transaction().execute(async (trx) => {
          const row = await trx
            .updateTable('person_tokens')
            .set({ used_at: now })
            .where('token_hash', '=', tokenHash)
            .where('purpose', '=', purpose)
            .where('used_at', 'is', null)
            .where('expires_at', '>', now)
            .returningAll()
            .executeTakeFirst();
          if (!row) return undefined;
          let update = trx
            .updateTable('users')
            .set({
              password_hash: change.passwordHash,
              password_changed_at: change.changedAt,
              ...(accepting ? { invited_at: null, name: change.name ?? null } : {}),
            })
            .where('org_id', '=', row.org_id)
            .where('id', '=', row.user_id);
          // A reset never completes an invitation, and an invitation only while it is pending.
          update = update.where('invited_at', accepting ? 'is not' : 'is', null);
          const result = await update.executeTakeFirst();
          if (Number(result.numUpdatedRows) !== 1) throw new Mismatch();
          return toPersonToken(row);
        });
      } catch (error) {
        if (error instanceof Mismatch) return undefined;
        throw error;
      }
    },
    async deleteInvitedUser(orgId, userId) {
      const result = await db
        .deleteFrom('users')
        .where('org_id', '=', orgId)
        .where('id', '=', userId)
        .where('invited_at', 'is not', null)
        .executeTakeFirst();
      return Number(result.numDeletedRows) === 1;
    },
  };
}
