import type { Clock } from '../../ports/clock.ts';
import {
  ACCOUNT_INDEXED_MODELS,
  GRANTABLE_MODELS,
  type ModelPayload,
  type OidcModelStore,
} from '../../ports/oidc-model-store.ts';
import { statementsOf } from './statements.ts';
import type { Database, Tables } from './tables.ts';

/** Embedded-mode storage of oidc-provider artifacts: expiring rows, swept by `sweepExpired`. */
export function createSqlOidcModelStore(
  db: Database,
  clock: Clock,
): OidcModelStore & { sweepExpired(): Promise<number> } {
  const statements = statementsOf(db);
  type Row = Pick<Tables['oidc_models'], 'payload' | 'consumed_at'>;
  const live = (model: string) =>
    db
      .selectFrom('oidc_models')
      .where('model', '=', model)
      .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', clock.now())]));

  const toPayload = (
    row: Pick<Tables['oidc_models'], 'payload' | 'consumed_at'> | undefined,
  ): ModelPayload | undefined => {
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
        // Sessions and grants only (migration 0003's column): tokens are reached through their grant.
        account_id: ACCOUNT_INDEXED_MODELS.has(model) ? (payload.accountId ?? null) : null,
      };
      // Hand-written statements on the hot path: oidc-provider reads and writes several artifacts per request.
      await statements.run(
        `insert into oidc_models (model, id, payload, grant_id, user_code, uid, expires_at, consumed_at, account_id)
         values (?, ?, ?, ?, ?, ?, ?, null, ?)
         on conflict (model, id) do update set
           payload = excluded.payload, grant_id = excluded.grant_id, user_code = excluded.user_code,
           uid = excluded.uid, expires_at = excluded.expires_at, account_id = excluded.account_id`,
        [model, id, row.payload, row.grant_id, row.user_code, row.uid, row.expires_at, row.account_id],
      );
    },
    async find(model, id) {
      const rows = await statements.all<Row>(
        `select payload, consumed_at from oidc_models
         where model = ? and id = ? and (expires_at is null or expires_at > ?)`,
        [model, id, clock.now()],
      );
      return toPayload(rows[0]);
    },
    async findByUid(model, uid) {
      const rows = await statements.all<Row>(
        `select payload, consumed_at from oidc_models
         where model = ? and uid = ? and (expires_at is null or expires_at > ?)`,
        [model, uid, clock.now()],
      );
      return toPayload(rows[0]);
    },
    async findByUserCode(model, userCode) {
      return toPayload(
        await live(model).select(['payload', 'consumed_at']).where('user_code', '=', userCode).executeTakeFirst(),
      );
    },
    async consume(model, id) {
      await statements.run(
        'update oidc_models set consumed_at = ? where model = ? and id = ? and consumed_at is null',
        [clock.now(), model, id],
      );
    },
    async destroy(model, id) {
      await statements.run('delete from oidc_models where model = ? and id = ?', [model, id]);
    },
    async revokeByGrantId(grantId) {
      await db.deleteFrom('oidc_models').where('grant_id', '=', grantId).execute();
    },
    async findSessionsOfAccount(accountId) {
      const rows = await live('Session')
        .select(['id', 'payload', 'consumed_at'])
        .where('account_id', '=', accountId)
        .execute();
      return rows.map((row) => ({ ...toPayload(row)!, jti: row.id }));
    },
    async findGrantIdsOfAccount(accountId) {
      const rows = await live('Grant').select('id').where('account_id', '=', accountId).execute();
      return rows.map((row) => row.id);
    },
    async sweepExpired() {
      const result = await db.deleteFrom('oidc_models').where('expires_at', '<=', clock.now()).executeTakeFirst();
      return Number(result.numDeletedRows);
    },
  };
}
