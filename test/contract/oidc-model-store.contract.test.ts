import { beforeAll, describe, expect, it } from 'vitest';

import { uniqueName } from '../helpers/backends.ts';
import { describeEachBackend } from './backends.ts';
import { oidcModelStoreBackends } from './oidc-model-store.backends.ts';

/** The OidcModelStore contract: SQL (embedded mode) and Redis (scale-out) behave alike. */
const backends = oidcModelStoreBackends();

const id = () => uniqueName('id');

describeEachBackend(backends, (subject) => {
  describe('OidcModelStore', () => {
    it('returns a nested payload exactly as it was upserted', async () => {
      const { store } = subject();
      const key = id();
      const payload = {
        accountId: 'user-1',
        scope: 'openid email',
        claims: { id_token: { email: { essential: true } }, userinfo: null },
        rejected: ['phone'],
        exp: 1_900_000_000,
        flag: false,
      };
      await store.upsert('AccessToken', key, payload, 3600);
      expect(await store.find('AccessToken', key)).toEqual(payload);
    });

    it('replaces the whole payload on a second upsert instead of merging', async () => {
      const { store } = subject();
      const key = id();
      await store.upsert('Session', key, { accountId: 'a', loginTs: 1 }, 3600);
      await store.upsert('Session', key, { accountId: 'b' }, 3600);
      expect(await store.find('Session', key)).toEqual({ accountId: 'b' });
    });

    it('answers undefined for an unknown id, uid or user code', async () => {
      const { store } = subject();
      expect(await store.find('AccessToken', id())).toBeUndefined();
      expect(await store.findByUid('Session', id())).toBeUndefined();
      expect(await store.findByUserCode('DeviceCode', id())).toBeUndefined();
    });

    it('finds an artifact by its uid', async () => {
      const { store } = subject();
      const uid = id();
      const payload = { uid, accountId: 'user-1' };
      await store.upsert('Session', id(), payload, 3600);
      expect(await store.findByUid('Session', uid)).toEqual(payload);
    });

    it('finds an artifact by its user code', async () => {
      const { store } = subject();
      const userCode = id();
      const payload = { userCode, grantId: id(), params: { client_id: 'tv' } };
      await store.upsert('DeviceCode', id(), payload, 600);
      expect(await store.findByUserCode('DeviceCode', userCode)).toEqual(payload);
    });

    it('replacing an artifact moves its uid and user code lookups to the new values', async () => {
      const { store } = subject();
      const key = id();
      const [oldUid, newUid, oldCode, newCode] = [id(), id(), id(), id()];
      await store.upsert('DeviceCode', key, { uid: oldUid, userCode: oldCode }, 600);
      await store.upsert('DeviceCode', key, { uid: newUid, userCode: newCode }, 600);
      expect(await store.findByUid('DeviceCode', newUid)).toEqual({ uid: newUid, userCode: newCode });
      expect(await store.findByUserCode('DeviceCode', newCode)).toEqual({ uid: newUid, userCode: newCode });
      // A stale index entry must not hand out an artifact that no longer carries that uid or code.
      expect(await store.findByUid('DeviceCode', oldUid)).toBeUndefined();
      expect(await store.findByUserCode('DeviceCode', oldCode)).toBeUndefined();
    });

    it('consume records the time in epoch seconds', async () => {
      const { store, clock } = subject();
      const key = id();
      await store.upsert('AuthorizationCode', key, { grantId: id() }, 60);
      const expected = Math.floor(clock.now() / 1000);
      await store.consume('AuthorizationCode', key);
      const found = await store.find('AuthorizationCode', key);
      expect(typeof found?.consumed).toBe('number');
      expect(found?.consumed).toBe(expected);
    });

    it('a second consume keeps the first consumption time', async () => {
      const { store, clock } = subject();
      const key = id();
      await store.upsert('RefreshToken', key, { grantId: id() }, 3600);
      await store.consume('RefreshToken', key);
      const first = (await store.find('RefreshToken', key))?.consumed;
      clock.advance(5000);
      await store.consume('RefreshToken', key);
      expect((await store.find('RefreshToken', key))?.consumed).toBe(first);
    });

    it('consuming an unknown id creates nothing', async () => {
      const { store } = subject();
      const key = id();
      await store.consume('AuthorizationCode', key);
      expect(await store.find('AuthorizationCode', key)).toBeUndefined();
    });

    it('a concurrent burst of consumes of one code leaves exactly one consumption time', async () => {
      const { store, clock } = subject();
      const key = id();
      await store.upsert('AuthorizationCode', key, { grantId: id() }, 60);
      // Every consume sees a different second, so a later consume overwriting an earlier one shows.
      clock.tickOnRead(1000);
      try {
        const observed = await Promise.all(
          Array.from({ length: 20 }, async () => {
            await store.consume('AuthorizationCode', key);
            return (await store.find('AuthorizationCode', key))?.consumed;
          }),
        );
        expect(new Set(observed).size).toBe(1);
        expect(typeof observed[0]).toBe('number');
        await store.consume('AuthorizationCode', key);
        expect((await store.find('AuthorizationCode', key))?.consumed).toBe(observed[0]);
      } finally {
        clock.tickOnRead(0);
      }
    });

    it('destroy removes the artifact', async () => {
      const { store } = subject();
      const key = id();
      await store.upsert('Interaction', key, { uid: id() }, 3600);
      await store.destroy('Interaction', key);
      expect(await store.find('Interaction', key)).toBeUndefined();
    });

    it('destroying an unknown id is harmless', async () => {
      const { store } = subject();
      await expect(store.destroy('Interaction', id())).resolves.toBeUndefined();
    });

    it('revokeByGrantId removes every artifact of the grant, whatever its model, and nothing else', async () => {
      const { store } = subject();
      const [grantId, otherGrant] = [id(), id()];
      const [code, access, refresh, otherAccess, session] = [id(), id(), id(), id(), id()];
      await store.upsert('AuthorizationCode', code, { grantId }, 60);
      await store.upsert('AccessToken', access, { grantId }, 3600);
      await store.upsert('RefreshToken', refresh, { grantId }, 86_400);
      await store.upsert('AccessToken', otherAccess, { grantId: otherGrant }, 3600);
      await store.upsert('Session', session, { accountId: 'user-1' }, 3600);

      await store.revokeByGrantId(grantId);

      expect(await store.find('AuthorizationCode', code)).toBeUndefined();
      expect(await store.find('AccessToken', access)).toBeUndefined();
      expect(await store.find('RefreshToken', refresh)).toBeUndefined();
      expect(await store.find('AccessToken', otherAccess)).toEqual({ grantId: otherGrant });
      expect(await store.find('Session', session)).toEqual({ accountId: 'user-1' });
    });

    it('an artifact re-issued under another grant is revoked with the new grant, not the old one', async () => {
      const { store } = subject();
      const [oldGrant, newGrant, key] = [id(), id(), id()];
      await store.upsert('AccessToken', key, { grantId: oldGrant }, 3600);
      await store.upsert('AccessToken', key, { grantId: newGrant }, 3600);
      await store.revokeByGrantId(oldGrant);
      expect(await store.find('AccessToken', key)).toEqual({ grantId: newGrant });
      await store.revokeByGrantId(newGrant);
      expect(await store.find('AccessToken', key)).toBeUndefined();
    });

    it("lists a person's sessions, and only sessions, with their ids", async () => {
      const { store } = subject();
      const [alice, bob] = [id(), id()];
      const [s1, s2, s3, other, token] = [id(), id(), id(), id(), id()];
      await store.upsert('Session', s1, { accountId: alice, uid: id() }, 3600);
      await store.upsert('Session', s2, { accountId: alice, uid: id() }, undefined);
      await store.upsert('Session', s3, { accountId: alice, uid: id() }, 3600);
      await store.upsert('Session', other, { accountId: bob, uid: id() }, 3600);
      await store.upsert('AccessToken', token, { accountId: alice }, 3600);
      expect((await store.findSessionsOfAccount(alice)).map((s) => s.jti).sort()).toEqual([s1, s2, s3].sort());
      await store.destroy('Session', s2);
      await store.upsert('Session', s3, { accountId: bob, uid: id() }, 3600);
      expect((await store.findSessionsOfAccount(alice)).map((s) => s.jti)).toEqual([s1]);
      expect((await store.findSessionsOfAccount(bob)).map((s) => s.jti).sort()).toEqual([other, s3].sort());
    });

    it("misses none of a person's sessions saved at the same moment (no lost updates)", async () => {
      const { store } = subject();
      const person = id();
      const ids = Array.from({ length: 25 }, () => id());
      await Promise.all(ids.map((key) => store.upsert('Session', key, { accountId: person, uid: id() }, 3600)));
      expect((await store.findSessionsOfAccount(person)).map((s) => s.jti).sort()).toEqual([...ids].sort());
    });

    it("lists the ids of a person's grants, and only grants", async () => {
      const { store } = subject();
      const [alice, bob] = [id(), id()];
      const [web, mail, other, session, refresh] = [id(), id(), id(), id(), id()];
      await store.upsert('Grant', web, { accountId: alice, clientId: 'rp' }, 3600);
      await store.upsert('Grant', mail, { accountId: alice, clientId: 'dovecot' }, undefined);
      await store.upsert('Grant', other, { accountId: bob, clientId: 'rp' }, 3600);
      await store.upsert('Session', session, { accountId: alice, uid: id() }, 3600);
      await store.upsert('RefreshToken', refresh, { accountId: alice, grantId: web }, 3600);
      expect((await store.findGrantIdsOfAccount(alice)).sort()).toEqual([web, mail].sort());
      expect(await store.findGrantIdsOfAccount(id())).toEqual([]);
    });

    it('no longer lists a destroyed grant, nor one saved again for another person', async () => {
      const { store } = subject();
      const [alice, bob] = [id(), id()];
      const [destroyed, moved, kept] = [id(), id(), id()];
      for (const grant of [destroyed, moved, kept]) await store.upsert('Grant', grant, { accountId: alice }, 3600);
      await store.destroy('Grant', destroyed);
      await store.upsert('Grant', moved, { accountId: bob }, 3600);
      expect(await store.findGrantIdsOfAccount(alice)).toEqual([kept]);
      expect(await store.findGrantIdsOfAccount(bob)).toEqual([moved]);
    });

    it('revoking a grant leaves the grant itself listed until it is destroyed', async () => {
      const { store } = subject();
      const [person, grant, token] = [id(), id(), id()];
      await store.upsert('Grant', grant, { accountId: person }, 3600);
      await store.upsert('AccessToken', token, { accountId: person, grantId: grant }, 3600);
      await store.revokeByGrantId(grant);
      expect(await store.find('AccessToken', token)).toBeUndefined();
      expect(await store.findGrantIdsOfAccount(person)).toEqual([grant]);
    });

    it("misses none of a person's grants saved at the same moment (no lost updates)", async () => {
      const { store } = subject();
      const person = id();
      const ids = Array.from({ length: 25 }, () => id());
      await Promise.all(ids.map((key) => store.upsert('Grant', key, { accountId: person, clientId: 'rp' }, 3600)));
      expect((await store.findGrantIdsOfAccount(person)).sort()).toEqual([...ids].sort());
    });

    it('keeps models apart: the same id, uid or user code in two models are independent', async () => {
      const { store } = subject();
      const [key, uid, userCode] = [id(), id(), id()];
      await store.upsert('AccessToken', key, { kind: 'access', uid, userCode }, 3600);
      await store.upsert('RefreshToken', key, { kind: 'refresh', uid, userCode }, 3600);

      expect(await store.find('AccessToken', key)).toMatchObject({ kind: 'access' });
      expect(await store.find('RefreshToken', key)).toMatchObject({ kind: 'refresh' });
      expect(await store.findByUid('RefreshToken', uid)).toMatchObject({ kind: 'refresh' });
      expect(await store.findByUserCode('AccessToken', userCode)).toMatchObject({ kind: 'access' });
      expect(await store.findByUid('Session', uid)).toBeUndefined();

      await store.consume('AccessToken', key);
      expect((await store.find('RefreshToken', key))?.consumed).toBeUndefined();
      await store.destroy('AccessToken', key);
      expect(await store.find('AccessToken', key)).toBeUndefined();
      expect(await store.find('RefreshToken', key)).toMatchObject({ kind: 'refresh' });
    });

    // The only case that waits on Redis (whose keys expire on its own clock): one wait, several checks.
    describe('once an artifact has outlived its expiresIn', () => {
      const grantId = id();
      const [code, uid, userCode, forever, renewed] = [id(), id(), id(), id(), id()];
      const [holder, expiredGrant, lastingGrant] = [id(), id(), id()];

      beforeAll(async () => {
        const { store, elapse } = subject();
        await store.upsert('AuthorizationCode', code, { grantId, uid, userCode }, 1);
        await store.upsert('RefreshToken', forever, { grantId }, undefined);
        await store.upsert('Session', renewed, { accountId: 'user-1' }, 1);
        await store.upsert('Session', renewed, { accountId: 'user-1', renewed: true }, 3600);
        // The person's index of grants starts with the short-lived one: it must outlive it.
        await store.upsert('Grant', expiredGrant, { accountId: holder }, 1);
        await store.upsert('Grant', lastingGrant, { accountId: holder }, 3600);
        expect(await store.find('AuthorizationCode', code)).toEqual({ grantId, uid, userCode });
        await elapse(1200);
      });

      it('it is gone by id, uid and user code', async () => {
        const { store } = subject();
        expect(await store.find('AuthorizationCode', code)).toBeUndefined();
        expect(await store.findByUid('AuthorizationCode', uid)).toBeUndefined();
        expect(await store.findByUserCode('AuthorizationCode', userCode)).toBeUndefined();
      });

      it('an artifact without expiry, or whose expiry an upsert extended, is still there', async () => {
        const { store } = subject();
        expect(await store.find('RefreshToken', forever)).toEqual({ grantId });
        expect(await store.find('Session', renewed)).toEqual({ accountId: 'user-1', renewed: true });
      });

      it("a person's expired grant is no longer listed, and one that lasts still is", async () => {
        const { store } = subject();
        expect(await store.findGrantIdsOfAccount(holder)).toEqual([lastingGrant]);
      });

      it('revoking the grant still removes the siblings that outlive it', async () => {
        const { store } = subject();
        await store.revokeByGrantId(grantId);
        expect(await store.find('RefreshToken', forever)).toBeUndefined();
      });
    });
  });
});
