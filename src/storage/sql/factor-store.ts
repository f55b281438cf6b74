import type { Selectable } from 'kysely';

import type { FactorRecord, FactorStore } from '../../ports/factor-stores.ts';
import { DuplicateError } from '../../ports/stores.ts';
import { isUniqueViolation } from './errors.ts';
import { sqlOf, statementsOf } from './statements.ts';
import type { Database, Tables } from './tables.ts';

function toFactor(row: Tables['factors']): FactorRecord {
  return {
    id: row.id,
    orgId: row.org_id,
    userId: row.user_id,
    kind: row.kind,
    label: row.label,
    active: row.active === 1,
    sealedSecret: row.sealed_secret,
    lastStep: row.last_step,
    phone: row.phone,
    credentialId: row.credential_id,
    publicKey: row.public_key,
    counter: row.counter,
    transports: row.transports ? (JSON.parse(row.transports) as string[]) : [],
    passkey: row.passkey === 1,
    createdAt: row.created_at,
    lastUsedAt: row.last_used_at,
  };
}

/** Second factors in SQL; every query is scoped by organization and person. */
export function createSqlFactorStore(db: Database): FactorStore {
  const mine = (orgId: string, userId: string) =>
    db.selectFrom('factors').selectAll().where('org_id', '=', orgId).where('user_id', '=', userId);
  const update = (orgId: string, userId: string, factorId: string) =>
    db.updateTable('factors').where('org_id', '=', orgId).where('user_id', '=', userId).where('id', '=', factorId);

  // Read on every sign-in, built once (statements.ts).
  const statements = statementsOf(db);
  const factorsOf = sqlOf(mine('', '').orderBy('created_at').orderBy('id'));
  // Its values in the builder's order: step, now, org, user, factor, step.
  const acceptStep = sqlOf(
    update('', '', '')
      .set({ last_step: 0, last_used_at: 0 })
      .where((eb) => eb.or([eb('last_step', 'is', null), eb('last_step', '<', 0)]))
      .returning('id'),
  );
  const preferredOf = sqlOf(
    db.selectFrom('users').select('preferred_factor_id').where('org_id', '=', '').where('id', '=', ''),
  );

  return {
    async insertFactor(f) {
      try {
        await db
          .insertInto('factors')
          .values({
            id: f.id,
            org_id: f.orgId,
            user_id: f.userId,
            kind: f.kind,
            label: f.label,
            active: f.active ? 1 : 0,
            sealed_secret: f.sealedSecret,
            last_step: f.lastStep,
            phone: f.phone,
            credential_id: f.credentialId,
            public_key: f.publicKey,
            counter: f.counter,
            transports: JSON.stringify(f.transports),
            passkey: f.passkey ? 1 : 0,
            created_at: f.createdAt,
            last_used_at: f.lastUsedAt,
          })
          .execute();
      } catch (error) {
        if (isUniqueViolation(error)) throw new DuplicateError('this security key is already registered');
        throw error;
      }
    },
    async findFactors(orgId, userId) {
      return (await statements.all<Selectable<Tables['factors']>>(factorsOf, [orgId, userId])).map(toFactor);
    },
    async findActiveFactorsOfOrganization(orgId) {
      const rows = await db
        .selectFrom('factors')
        .selectAll()
        .where('org_id', '=', orgId)
        .where('active', '=', 1)
        .orderBy('created_at')
        .orderBy('id')
        .execute();
      return rows.map(toFactor);
    },
    async findFactor(orgId, userId, factorId) {
      const row = await mine(orgId, userId).where('id', '=', factorId).executeTakeFirst();
      return row && toFactor(row);
    },
    async hasActiveFactor(orgId, userId) {
      const row = await db
        .selectFrom('factors')
        .select('id')
        .where('org_id', '=', orgId)
        .where('user_id', '=', userId)
        .where('active', '=', 1)
        .limit(1)
        .executeTakeFirst();
      return row !== undefined;
    },
    async findFactorByCredentialId(credentialId) {
      const row = await db
        .selectFrom('factors')
        .selectAll()
        .where('credential_id', '=', credentialId)
        .where('active', '=', 1)
        .executeTakeFirst();
      return row && toFactor(row);
    },
    async activateFactor(orgId, userId, factorId, now) {
      await update(orgId, userId, factorId).set({ active: 1, created_at: now }).execute();
    },
    async deleteFactor(orgId, userId, factorId) {
      const result = await db
        .deleteFrom('factors')
        .where('org_id', '=', orgId)
        .where('user_id', '=', userId)
        .where('id', '=', factorId)
        .executeTakeFirst();
      return Number(result.numDeletedRows) > 0;
    },
    async deleteInactiveFactors(orgId, userId, kinds) {
      await db
        .deleteFrom('factors')
        .where('org_id', '=', orgId)
        .where('user_id', '=', userId)
        .where('active', '=', 0)
        .where('kind', 'in', kinds)
        .execute();
    },
    async deleteAllFactors(orgId, userId) {
      return db.transaction().execute(async (trx) => {
        const result = await trx
          .deleteFrom('factors')
          .where('org_id', '=', orgId)
          .where('user_id', '=', userId)
          .executeTakeFirst();
        await trx.deleteFrom('recovery_codes').where('org_id', '=', orgId).where('user_id', '=', userId).execute();
        await trx.deleteFrom('trusted_browsers').where('org_id', '=', orgId).where('user_id', '=', userId).execute();
        await trx
          .updateTable('users')
          .set({ preferred_factor_id: null })
          .where('org_id', '=', orgId)
          .where('id', '=', userId)
          .execute();
        return Number(result.numDeletedRows);
      });
    },
    async acceptTotpStep(orgId, userId, factorId, step, now) {
      const rows = await statements.all(acceptStep, [step, now, orgId, userId, factorId, step]);
      return rows.length > 0;
    },
    async advanceCounter(orgId, userId, factorId, counter, now) {
      // W3C WebAuthn §6.1.1: a counter that does not grow may mean a cloned authenticator;
      // authenticators without a counter report 0 every time, which stays allowed.
      const query = update(orgId, userId, factorId).set({ counter, last_used_at: now });
      const guarded = counter === 0 ? query.where('counter', '=', 0) : query.where('counter', '<', counter);
      const row = await guarded.returning('id').executeTakeFirst();
      return row !== undefined;
    },
    async touchFactor(orgId, userId, factorId, now) {
      await update(orgId, userId, factorId).set({ last_used_at: now }).execute();
    },
    async findPreferredFactorId(orgId, userId) {
      const [row] = await statements.all<{ preferred_factor_id: string | null }>(preferredOf, [orgId, userId]);
      return row?.preferred_factor_id ?? null;
    },
    async setPreferredFactorId(orgId, userId, factorId) {
      await db
        .updateTable('users')
        .set({ preferred_factor_id: factorId })
        .where('org_id', '=', orgId)
        .where('id', '=', userId)
        .execute();
    },
    async findOrCreateWebauthnHandle(orgId, userId, candidate) {
      await db
        .updateTable('users')
        .set({ webauthn_handle: candidate })
        .where('org_id', '=', orgId)
        .where('id', '=', userId)
        .where('webauthn_handle', 'is', null)
        .execute();
      const row = await db
        .selectFrom('users')
        .select('webauthn_handle')
        .where('org_id', '=', orgId)
        .where('id', '=', userId)
        .executeTakeFirstOrThrow();
      return row.webauthn_handle!;
    },
    async findUserIdByWebauthnHandle(handle) {
      const row = await db
        .selectFrom('users')
        .select(['org_id', 'id'])
        .where('webauthn_handle', '=', handle)
        .executeTakeFirst();
      return row && { orgId: row.org_id, userId: row.id };
    },
  };
}
