import {
  ACCOUNT_INDEXED_MODELS,
  GRANTABLE_MODELS,
  type ModelPayload,
  type OidcModelStore,
} from '../../ports/oidc-model-store.ts';
import type { RedisCommands } from './client.ts';

/**
 * Adds a member to an index set (a grant's artifacts, a person's sessions) and lets the set live at
 * least as long as the member: its TTL only ever grows, so it outlives every member.
 */
const ADD_TO_INDEX = `
redis.call('SADD', KEYS[1], ARGV[1])
if redis.call('TTL', KEYS[1]) < tonumber(ARGV[2]) then redis.call('EXPIRE', KEYS[1], ARGV[2]) end
return 1`;

/** Replaces an artifact's hash (dropping a `consumed` mark) and sets its TTL, atomically on its one key. */
const REPLACE = `redis.call('DEL', KEYS[1]) redis.call('HSET', KEYS[1], 'payload', ARGV[1]) return redis.call('EXPIRE', KEYS[1], ARGV[2])`;

/** Marks consumed only if the artifact still exists; HSETNX makes a second consume a no-op. */
const CONSUME = `if redis.call('EXISTS', KEYS[1]) == 1 then return redis.call('HSETNX', KEYS[1], 'consumed', ARGV[1]) end return 0`;

/**
 * Scale-out storage of oidc-provider artifacts. Each artifact is a hash {payload, consumed?}
 * with the artifact's TTL; grants keep a set of their artifacts' keys for revokeByGrantId,
 * a person keeps a set of session ids and one of grant ids, and uid / userCode lookups go
 * through index keys with the same TTL. An index set may name members that are gone: readers
 * skip and remove them.
 *
 * Every key expires: an artifact saved without expiry keeps `fallbackTtlSeconds`. Every command and
 * script names one key, so the keys may live in different Redis Cluster hash slots: the artifact is
 * written by one script on its own key, then its lookups.
 */
export function createRedisOidcModelStore(
  redis: RedisCommands,
  prefix: string,
  nowSeconds: () => number,
  fallbackTtlSeconds: number,
): OidcModelStore {
  const keyOf = (model: string, id: string) => `${prefix}oidc:${model}:${id}`;
  const grantKey = (grantId: string) => `${prefix}oidc:grant:${grantId}`;
  const uidKey = (model: string, uid: string) => `${prefix}oidc:${model}:by-uid:${uid}`;
  const userCodeKey = (model: string, code: string) => `${prefix}oidc:${model}:by-user-code:${code}`;
  // One set per person and model; each command on it names that one key.
  const accountKey = (model: string, accountId: string) =>
    `${prefix}oidc:${model === 'Session' ? 'sessions' : 'grants'}-of:${accountId}`;

  async function load(key: string): Promise<ModelPayload | undefined> {
    const hash = await redis.hGetAll(key);
    if (!hash.payload) return undefined;
    const payload = JSON.parse(hash.payload) as ModelPayload;
    if (hash.consumed) payload.consumed = Number(hash.consumed);
    return payload;
  }

  async function loadByIndex(model: string, indexKey: string) {
    const id = await redis.get(indexKey);
    return id ? load(keyOf(model, id)) : undefined;
  }

  /** The person's live artifacts of one model, by id; members that expired or moved leave the set. */
  async function loadOfAccount(model: string, accountId: string) {
    const set = accountKey(model, accountId);
    const ids = await redis.sMembers(set);
    const found = await Promise.all(ids.map(async (id) => ({ id, payload: await load(keyOf(model, id)) })));
    const live = found.filter((f): f is { id: string; payload: ModelPayload } => f.payload?.accountId === accountId);
    const gone = found.filter((f) => f.payload?.accountId !== accountId).map((f) => f.id);
    if (gone.length > 0) await redis.sRem(set, gone);
    return live;
  }

  /** Points the lookups (grant, uid, user code, person) at a saved artifact and away from what it replaced. */
  async function reindex(
    model: string,
    id: string,
    payload: ModelPayload,
    previous: ModelPayload | undefined,
    ttl: number,
  ) {
    const key = keyOf(model, id);
    const grantId = GRANTABLE_MODELS.has(model) ? payload.grantId : undefined;
    const accountId = ACCOUNT_INDEXED_MODELS.has(model) ? payload.accountId : undefined;
    const changed = (field: 'grantId' | 'uid' | 'userCode' | 'accountId', now: string | undefined) =>
      previous?.[field] !== undefined && previous[field] !== now ? previous[field] : undefined;
    const [oldGrant, oldUid, oldUserCode] = [
      changed('grantId', grantId),
      changed('uid', payload.uid),
      changed('userCode', payload.userCode),
    ];
    const oldAccount = ACCOUNT_INDEXED_MODELS.has(model) ? changed('accountId', accountId) : undefined;
    const index = (set: string, member: string) =>
      redis.eval(ADD_TO_INDEX, { keys: [set], arguments: [member, String(ttl)] });
    await Promise.all([
      oldGrant && redis.sRem(grantKey(oldGrant), key),
      oldUid && redis.del(uidKey(model, oldUid)),
      oldUserCode && redis.del(userCodeKey(model, oldUserCode)),
      oldAccount && redis.sRem(accountKey(model, oldAccount), id),
      payload.uid && redis.set(uidKey(model, payload.uid), id, { EX: ttl }),
      payload.userCode && redis.set(userCodeKey(model, payload.userCode), id, { EX: ttl }),
      grantId && index(grantKey(grantId), key),
      // Sessions and grants are also indexed by person (sets that outlive their members, like grants).
      accountId && index(accountKey(model, accountId), id),
    ]);
  }

  return {
    async upsert(model, id, payload, expiresIn) {
      const key = keyOf(model, id);
      const ttl = expiresIn ?? fallbackTtlSeconds;
      // A re-issued artifact may change grant, uid or user code: the lookups of the old one go.
      const previous = await load(key);
      await redis.eval(REPLACE, { keys: [key], arguments: [JSON.stringify(payload), String(ttl)] });
      await reindex(model, id, payload, previous, ttl);
    },
    find: (model, id) => load(keyOf(model, id)),
    findByUid: (model, uid) => loadByIndex(model, uidKey(model, uid)),
    findByUserCode: (model, code) => loadByIndex(model, userCodeKey(model, code)),
    async consume(model, id) {
      await redis.eval(CONSUME, { keys: [keyOf(model, id)], arguments: [String(nowSeconds())] });
    },
    async destroy(model, id) {
      await redis.del(keyOf(model, id));
    },
    async findSessionsOfAccount(accountId) {
      return (await loadOfAccount('Session', accountId)).map(({ id, payload }) => ({ ...payload, jti: id }));
    },
    async findGrantIdsOfAccount(accountId) {
      return (await loadOfAccount('Grant', accountId)).map(({ id }) => id);
    },
    async revokeByGrantId(grantId) {
      const gk = grantKey(grantId);
      const keys = await redis.sMembers(gk);
      // One key per command (Redis Cluster); node-redis sends them in one round trip.
      await Promise.all(keys.map((key) => redis.del(key)));
      await redis.del(gk);
    },
  };
}
