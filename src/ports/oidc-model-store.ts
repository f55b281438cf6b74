/** What oidc-provider stores for one artifact (session, code, token, interaction, grant, …). */
export type ModelPayload = Record<string, unknown> & {
  grantId?: string;
  accountId?: string;
  userCode?: string;
  uid?: string;
  consumed?: number;
};

/**
 * Ephemeral storage of oidc-provider artifacts, with expiry. Implemented over SQL (embedded mode)
 * and Redis (scale-out); both pass the same contract suite. Ids and user codes are opaque keys to a
 * store: the adapter (src/oidc/adapter.ts) passes keyed hashes of them and seals the bearer values
 * in the payload, for every model but Grant (issue 8), so a store never holds a working token.
 */
export interface OidcModelStore {
  upsert(model: string, id: string, payload: ModelPayload, expiresInSeconds: number | undefined): Promise<void>;
  find(model: string, id: string): Promise<ModelPayload | undefined>;
  findByUid(model: string, uid: string): Promise<ModelPayload | undefined>;
  findByUserCode(model: string, userCode: string): Promise<ModelPayload | undefined>;
  /** Marks the artifact consumed (epoch seconds) atomically; a second consume changes nothing. */
  consume(model: string, id: string): Promise<void>;
  destroy(model: string, id: string): Promise<void>;
  /** Removes every artifact issued under the grant, whatever its model. */
  revokeByGrantId(grantId: string): Promise<void>;
  /**
   * Every live browser session of a person (the Session model, by its accountId). Each payload's
   * `jti` is the store's key of the session (what `destroy` takes), not the session cookie.
   */
  findSessionsOfAccount(accountId: string): Promise<ModelPayload[]>;
  /**
   * The ids of every live grant of a person (the Grant model, by its accountId): what a reset must
   * revoke besides the grants its sessions name, such as offline_access grants whose session is gone.
   * Grants are indexed when saved, so one saved before this index existed is found only once saved again.
   */
  findGrantIdsOfAccount(accountId: string): Promise<string[]>;
}

/** Models found by their person: sessions (to list and end them) and grants (to revoke them). */
export const ACCOUNT_INDEXED_MODELS = new Set(['Session', 'Grant']);

/**
 * Models revoked with their grant (as oidc-provider's reference adapter files them). Sessions,
 * interactions and grants themselves carry a grantId too, but revoking a grant must not delete
 * a sign-in in progress or a browser session.
 */
export const GRANTABLE_MODELS = new Set([
  'AccessToken',
  'AuthorizationCode',
  'RefreshToken',
  'DeviceCode',
  'BackchannelAuthenticationRequest',
  'PreAuthorizedCode',
  'Grant',
]);
