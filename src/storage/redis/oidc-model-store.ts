import type { ModelPayload, OidcModelStore } from '../../ports/oidc-model-store.ts';
import type { RedisClient } from './client.ts';

/** Marks consumed only if the artifact still exists; HSETNX makes a second consume a no-op. */
const CONSUME = `if redis.call('EXISTS', KEYS[1]) == 1 then return redis.call('HSETNX', KEYS[1], 'consumed', ARGV[1]) end return 0`;

/**
 * Scale-out storage of oidc-provider artifacts. Each artifact is a hash {payload, consumed?}
 * with the artifact's TTL; grants keep a set of their artifacts' keys for revokeByGrantId,
 * and uid / userCode lookups go through index keys with the same TTL.
 */
export function createRedisOidcModelStore(redis: RedisClient, prefix: string, nowSeconds: () => number): OidcModelStore {
  const keyOf = (model: string, id: string) => `${prefix}oidc:${model}:${id}`;
  const grantKey = (grantId: string) => `${prefix}oidc:grant:${grantId}`;
  const uidKey = (model: string, uid: string) => `${prefix}oidc:${model}:by-uid:${uid}`;
  const userCodeKey = (model: string, code: string) => `${prefix}oidc:${model}:by-user-code:${code}`;

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

  return {
    async upsert(model, id, payload, expiresIn) {
      const key = keyOf(model, id);
      const multi = redis.multi().del(key).hSet(key, 'payload', JSON.stringify(payload));
      if (expiresIn) multi.expire(key, expiresIn);
      if (payload.grantId) {
        const gk = grantKey(payload.grantId);
        multi.sAdd(gk, key);
        if (expiresIn) multi.expire(gk, expiresIn, 'NX').expire(gk, expiresIn, 'GT');
      }
      if (payload.uid) multi.set(uidKey(model, payload.uid), id, expiresIn ? { EX: expiresIn } : {});
      if (payload.userCode) multi.set(userCodeKey(model, payload.userCode), id, expiresIn ? { EX: expiresIn } : {});
      await multi.exec();
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
    async revokeByGrantId(grantId) {
      const gk = grantKey(grantId);
      const keys = await redis.sMembers(gk);
      await redis.del([...keys, gk]);
    },
  };
}
