import type { Adapter, AdapterFactory, AdapterPayload } from 'oidc-provider';

import type { OidcModelStore } from '../ports/oidc-model-store.ts';
import type { ClientStore } from '../ports/stores.ts';
import type { SecretBox } from '../ports/secret-box.ts';

/**
 * Bridges oidc-provider's storage interface to ours: clients come from the durable client table
 * (registered with `twofold client add`, no dynamic registration), every other model from the
 * ephemeral store (SQL in embedded mode, Redis in scale-out).
 */
export function createAdapterFactory(deps: {
  models: OidcModelStore;
  clients: ClientStore;
  box: SecretBox;
  builtIn: Record<string, unknown>[];
}): AdapterFactory {
  const clientAdapter: Adapter = {
    async find(id) {
      // Built-in first-party clients (the account pages) follow the configured issuer.
      const builtIn = deps.builtIn.find((c) => c.client_id === id);
      if (builtIn) return builtIn as AdapterPayload;
      const record = await deps.clients.findClient(id);
      if (!record) return undefined;
      const secret = record.sealedSecret ? { client_secret: deps.box.open(record.sealedSecret) } : {};
      return { ...record.metadata, client_id: record.clientId, ...secret } as AdapterPayload;
    },
    // Clients are written by the CLI only; the provider never registers or changes one.
    upsert: async () => {},
    findByUid: async () => undefined,
    findByUserCode: async () => undefined,
    consume: async () => {},
    destroy: async () => {},
    revokeByGrantId: async () => {},
  };

  return (name) => {
    if (name === 'Client') return clientAdapter;
    const { models } = deps;
    return {
      upsert: (id, payload, expiresIn) => models.upsert(name, id, payload as Record<string, unknown>, expiresIn),
      find: (id) => models.find(name, id) as Promise<AdapterPayload | undefined>,
      findByUid: (uid) => models.findByUid(name, uid) as Promise<AdapterPayload | undefined>,
      findByUserCode: (code) => models.findByUserCode(name, code) as Promise<AdapterPayload | undefined>,
      consume: (id) => models.consume(name, id),
      destroy: (id) => models.destroy(name, id),
      revokeByGrantId: (grantId) => models.revokeByGrantId(grantId),
    };
  };
}
