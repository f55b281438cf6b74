import type { Adapter, AdapterFactory, AdapterPayload } from 'oidc-provider';

import type { KeyedHash } from '../ports/keyed-hash.ts';
import type { ModelPayload, OidcModelStore } from '../ports/oidc-model-store.ts';
import type { ClientStore } from '../ports/stores.ts';
import type { SecretBox } from '../ports/secret-box.ts';

/**
 * Grants keep their id: a grant id is not a credential (no endpoint accepts one from a client; it
 * only names what a person consented to), and the session index looks grants up by the ids the
 * store lists and the ids sessions name (findGrantIdsOfAccount, revokeByGrantId, Grant.find).
 */
const CLEAR_ID_MODELS = new Set(['Grant']);

/**
 * Payload fields that are bearer values, sealed (AES-GCM) rather than stored as they are: the
 * artifact's own id (an opaque token's value, the session cookie, the interaction uid; the opaque
 * format stores it as `jti` and reads it back from `find`), an interaction's device code and pushed
 * request id, a device's user code, and a session's logout state (its form secret).
 */
const SEALED_FIELDS = ['jti', 'userCode', 'deviceCode', 'parJti', 'state'];
const SEALED = 'sealed';

/** An interaction names its browser session by the session cookie's value. */
type Stored = ModelPayload & { session?: { cookie?: unknown } };

/**
 * Issue 8: a copy of the database (or of Redis) must not be a set of working bearer tokens. Every
 * artifact but a grant is stored under a keyed hash of its id, a device's user code is indexed by
 * its keyed hash, and what oidc-provider needs back travels sealed in the payload. Session uids stay
 * as they are: a uid is the `sid` every relying party receives in ID tokens, not a credential.
 * Rows and keys written before this change are never found again: everyone is signed out once.
 */
function createArtifactSealing(box: SecretBox, keyedHash: KeyedHash) {
  // HMAC under the deployment's pepper (shared by every node, like the other secrets).
  const hash = (purpose: string, value: string) => keyedHash.digest(purpose, value);
  const idOf = (id: string) => hash('oidc-id', id);
  const userCodeOf = (code: string) => hash('oidc-user-code', code);

  function seal(payload: Stored): ModelPayload {
    const stored: Stored = { ...payload };
    const secrets: Record<string, unknown> = {};
    for (const field of SEALED_FIELDS.filter((f) => f in stored)) {
      secrets[field] = stored[field];
      delete stored[field];
    }
    if (stored.session?.cookie !== undefined) {
      const { cookie, ...session } = stored.session;
      secrets.sessionCookie = cookie;
      stored.session = session;
    }
    // The store indexes this hash; findByUserCode computes the same one from what was typed.
    if (typeof payload.userCode === 'string') stored.userCode = userCodeOf(payload.userCode);
    return { ...stored, [SEALED]: box.seal(JSON.stringify(secrets)) };
  }

  /** An artifact that cannot be opened (written before issue 8, or under another key) is not there. */
  function open(stored: ModelPayload | undefined): AdapterPayload | undefined {
    const sealed = stored?.[SEALED];
    if (typeof sealed !== 'string') return undefined;
    let secrets: Record<string, unknown>;
    try {
      secrets = JSON.parse(box.open(sealed)) as Record<string, unknown>;
    } catch {
      return undefined;
    }
    const { [SEALED]: _, ...payload } = stored as Stored;
    const { sessionCookie, ...fields } = secrets;
    if (sessionCookie !== undefined) payload.session = { ...payload.session, cookie: sessionCookie };
    return { ...payload, ...fields } as AdapterPayload;
  }

  return { idOf, userCodeOf, seal, open };
}

/**
 * Bridges oidc-provider's storage interface to ours: clients come from the durable client table
 * (registered with `twofold client add`, no dynamic registration), every other model from the
 * ephemeral store (SQL in embedded mode, Redis in scale-out), hashed and sealed at rest.
 */
export function createAdapterFactory(deps: {
  models: OidcModelStore;
  clients: ClientStore;
  box: SecretBox;
  /** The pepper's HMAC for artifact ids (issue 8): a copy of the store is not a set of tokens. */
  keyedHash: KeyedHash;
  builtIn: Record<string, unknown>[];
}): AdapterFactory {
  // A client's secret is opened once per sealed value: the provider reads its client on most requests.
  const secrets = new Map<string, string>();
  const openSecret = (sealed: string) => {
    let secret = secrets.get(sealed);
    if (secret === undefined) secrets.set(sealed, (secret = deps.box.open(sealed)));
    return secret;
  };
  const clientAdapter: Adapter = {
    async find(id) {
      // Built-in first-party clients (the account pages) follow the configured issuer.
      const builtIn = deps.builtIn.find((c) => c.client_id === id);
      if (builtIn) return builtIn as AdapterPayload;
      const record = await deps.clients.findClient(id);
      if (!record) return undefined;
      const secret = record.sealedSecret ? { client_secret: openSecret(record.sealedSecret) } : {};
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

  const { models } = deps;
  const sealing = createArtifactSealing(deps.box, deps.keyedHash);
  const clearAdapter = (name: string): Adapter => ({
    upsert: (id, payload, expiresIn) => models.upsert(name, id, payload as ModelPayload, expiresIn),
    find: (id) => models.find(name, id) as Promise<AdapterPayload | undefined>,
    findByUid: (uid) => models.findByUid(name, uid) as Promise<AdapterPayload | undefined>,
    findByUserCode: (code) => models.findByUserCode(name, code) as Promise<AdapterPayload | undefined>,
    consume: (id) => models.consume(name, id),
    destroy: (id) => models.destroy(name, id),
    revokeByGrantId: (grantId) => models.revokeByGrantId(grantId),
  });
  const sealedAdapter = (name: string): Adapter => ({
    upsert: (id, payload, expiresIn) => models.upsert(name, sealing.idOf(id), sealing.seal(payload), expiresIn),
    find: async (id) => sealing.open(await models.find(name, sealing.idOf(id))),
    findByUid: async (uid) => sealing.open(await models.findByUid(name, uid)),
    findByUserCode: async (code) => sealing.open(await models.findByUserCode(name, sealing.userCodeOf(code))),
    consume: (id) => models.consume(name, sealing.idOf(id)),
    destroy: (id) => models.destroy(name, sealing.idOf(id)),
    revokeByGrantId: (grantId) => models.revokeByGrantId(grantId),
  });

  return (name) => {
    if (name === 'Client') return clientAdapter;
    return CLEAR_ID_MODELS.has(name) ? clearAdapter(name) : sealedAdapter(name);
  };
}
