import type { Selectable } from 'kysely';

import type { ClientRecord, ClientStore } from '../../ports/stores.ts';
import { DuplicateError } from '../../ports/stores.ts';
import { isUniqueViolation } from './errors.ts';
import type { Database, Tables } from './tables.ts';

function toClient(row: Selectable<Tables['clients']>): ClientRecord {
  return {
    clientId: row.client_id,
    name: row.name,
    metadata: JSON.parse(row.metadata) as Record<string, unknown>,
    sealedSecret: row.sealed_secret,
    firstParty: row.first_party === 1,
    accountApi: row.account_api === 1,
    introspection: row.introspection === 1,
    forwardAuth: row.forward_auth === 1,
    adminApi: row.admin_api === 1,
    createdAt: row.created_at,
  };
}

export function createSqlClientStore(db: Database): ClientStore {
  // A client row is written once (`twofold client add`) and never changed or removed, so a row
  // found once is that client for good: the provider looks its client up several times per
  // sign-in. Only found rows are kept (a client added later, by the CLI or another node, is found
  // then); each lookup still gets its own record. Whoever adds changing or removing clients must
  // drop this cache (and tell the other nodes).
  const found = new Map<string, Selectable<Tables['clients']>>();
  return {
    async insertClient(client) {
      try {
        await db
          .insertInto('clients')
          .values({
            client_id: client.clientId,
            name: client.name,
            metadata: JSON.stringify(client.metadata),
            sealed_secret: client.sealedSecret,
            first_party: client.firstParty ? 1 : 0,
            account_api: client.accountApi ? 1 : 0,
            introspection: client.introspection ? 1 : 0,
            forward_auth: client.forwardAuth ? 1 : 0,
            admin_api: client.adminApi ? 1 : 0,
            created_at: client.createdAt,
          })
          .execute();
      } catch (error) {
        if (isUniqueViolation(error)) throw new DuplicateError(`client "${client.clientId}" already exists`);
        throw error;
      }
    },
    async findClient(clientId) {
      const cached = found.get(clientId);
      if (cached) return toClient(cached);
      const row = await db.selectFrom('clients').selectAll().where('client_id', '=', clientId).executeTakeFirst();
      if (row) found.set(clientId, row);
      return row && toClient(row);
    },
    async listClients() {
      const rows = await db.selectFrom('clients').selectAll().orderBy('created_at').orderBy('client_id').execute();
      return rows.map(toClient);
    },
  };
}
