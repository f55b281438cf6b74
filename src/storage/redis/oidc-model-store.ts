import {
  ACCOUNT_INDEXED_MODELS,
  GRANTABLE_MODELS,
  type ModelPayload,
  type OidcModelStore,
} from '../../ports/oidc-model-store.ts';
import type { RedisClient } from './client.ts';

/**
 * Adds a member to an index set (a grant's artifacts, a person's sessions). The set must outlive every member: a member without expiry
 * makes the set persistent, otherwise its TTL only ever grows (a new set takes the member's).
 */
const ADD_TO_INDEX = `
local existed = redis.call('EXISTS', KEYS[1])
redis.call('SADD', KEYS[1], ARGV[1])
if ARGV[2] == '' then
  redis.call('PERSIST', KEYS[1])
elseif existed == 0 then
  redis.call('EXPIRE', KEYS[1], ARGV[2])
else
  local ttl = redis.call('TTL', KEYS[1])
  if ttl ~= -1 and ttl < tonumber(ARGV[2]) then redis.call('EXPIRE', KEYS[1], ARGV[2]) end
end
return 1`;

/** Marks consumed only if the artifact still exists; HSETNX makes a second consume a no-op. */
const CONSUME = `if redis.call('EXISTS', KEYS[1]) == 1 then return redis.call('HSETNX', KEYS[1], 'consumed', ARGV[1]) end return 0`;

/**
 * Scale-out storage of oidc-provider artifacts. Each artifact is a hash {payload, consumed?}
 * with the artifact's TTL; grants keep a set of their artifacts' keys for revokeByGrantId,
 * a person keeps a set of session ids and one of grant ids, and uid / userCode lookups go
 * through index keys with the same TTL. An index set may name members that are gone: readers
 * skip and remove them.
 */
export function createRedisOidcModelStore(
  redis: RedisClient,
  prefix: string,
  nowSeconds: () => number,
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

  return {
    async upsert(model, id, payload, expiresIn) {
      const key = keyOf(model, id);
      // A re-issued artifact may change grant, uid or user code: drop the lookups of the old one.
      const previous = await load(key);
      const multi = redis.multi().del(key).hSet(key, 'payload', JSON.stringify(payload));
      if (expiresIn) multi.expire(key, expiresIn);
      const grantId = GRANTABLE_MODELS.has(model) ? payload.grantId : undefined;
      if (previous?.grantId && previous.grantId !== grantId) multi.sRem(grantKey(previous.grantId), key);
      if (previous?.uid && previous.uid !== payload.uid) multi.del(uidKey(model, previous.uid));
      if (previous?.userCode && previous.userCode !== payload.userCode)
        multi.del(userCodeKey(model, previous.userCode));
      if (payload.uid) multi.set(uidKey(model, payload.uid), id, expiresIn ? { EX: expiresIn } : {});
      if (payload.userCode) multi.set(userCodeKey(model, payload.userCode), id, expiresIn ? { EX: expiresIn } : {});
      await multi.exec();
      if (grantId) {
        await redis.eval(ADD_TO_INDEX, {
          keys: [grantKey(grantId)],
          arguments: [key, expiresIn ? String(expiresIn) : ''],
        });
      }
      // Sessions and grants are also indexed by person (sets that outlive their members, like grants).
      if (!ACCOUNT_INDEXED_MODELS.has(model)) return;
      const { accountId } = payload;
      if (previous?.accountId && previous.accountId !== accountId)
        await redis.sRem(accountKey(model, previous.accountId), id);
      if (accountId)
        await redis.eval(ADD_TO_INDEX, {
          keys: [accountKey(model, accountId)],
          arguments: [id, expiresIn ? String(expiresIn) : ''],
        });
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
      await redis.del([...keys, gk]);
    },
  };
}
