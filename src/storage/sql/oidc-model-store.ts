import type { Clock } from '../../ports/clock.ts';
import { GRANTABLE_MODELS, type ModelPayload, type OidcModelStore } from '../../ports/oidc-model-store.ts';
import type { Database, Tables } from './tables.ts';

/** Embedded-mode storage of oidc-provider artifacts: expiring rows, swept by `sweepExpired`. */
export function createSqlOidcModelStore(db: Database, clock: Clock): OidcModelStore & { sweepExpired(): Promise<number> } {
  const live = (model: string) =>
    db
      .selectFrom('oidc_models')
      .select(['payload', 'consumed_at'])
      .where('model', '=', model)
      .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', clock.now())]));

  const toPayload = (row: Pick<Tables['oidc_models'], 'payload' | 'consumed_at'> | undefined): ModelPayload | undefined => {
    if (!row) return undefined;
    const payload = JSON.parse(row.payload) as ModelPayload;
    if (row.consumed_at !== null) payload.consumed = Math.floor(row.consumed_at / 1000);
    return payload;
  };

  return {
    async upsert(model, id, payload, expiresInSeconds) {
      const row = {
        model,
        id,
        payload: JSON.stringify(payload),
        grant_id: GRANTABLE_MODELS.has(model) ? (payload.grantId ?? null) : null,
        user_code: payload.userCode ?? null,
        uid: payload.uid ?? null,
        expires_at: expiresInSeconds ? clock.now() + expiresInSeconds * 1000 : null,
        consumed_at: null,
        account_id: model === 'Session' ? (payload.accountId ?? null) : null,
      };
      await db
        .insertInto('oidc_models')
        .values(row)
        .onConflict((oc) =>
          oc.columns(['model', 'id']).doUpdateSet({
            payload: row.payload,
            grant_id: row.grant_id,
            user_code: row.user_code,
            uid: row.uid,
            expires_at: row.expires_at,
            account_id: row.account_id,
          }),
        )
        .execute();
    },
    async find(model, id) {
      return toPayload(await live(model).where('id', '=', id).executeTakeFirst());
    },
    async findByUid(model, uid) {
      return toPayload(await live(model).where('uid', '=', uid).executeTakeFirst());
    },
    async findByUserCode(model, userCode) {
      return toPayload(await live(model).where('user_code', '=', userCode).executeTakeFirst());
    },
    async consume(model, id) {
      await db
        .updateTable('oidc_models')
        .set({ consumed_at: clock.now() })
        .where('model', '=', model)
        .where('id', '=', id)
        .where('consumed_at', 'is', null)
        .execute();
    },
    async destroy(model, id) {
      await db.deleteFrom('oidc_models').where('model', '=', model).where('id', '=', id).execute();
    },
    async revokeByGrantId(grantId) {
      await db.deleteFrom('oidc_models').where('grant_id', '=', grantId).execute();
    },
    async findSessionsOfAccount(accountId) {
      const rows = await live('Session').select('id').where('account_id', '=', accountId).execute();
      return rows.map((row) => ({ ...toPayload(row)!, jti: row.id }));
    },
    async sweepExpired() {
      const result = await db.deleteFrom('oidc_models').where('expires_at', '<=', clock.now()).executeTakeFirst();
      return Number(result.numDeletedRows);
    },
  };
}
