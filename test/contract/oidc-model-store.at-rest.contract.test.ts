import { randomBytes } from 'node:crypto';
import type { Adapter } from 'oidc-provider';
import { describe, expect, it } from 'vitest';

import { createAdapterFactory } from '../../src/oidc/adapter.ts';
import { createKeyedHash } from '../../src/security/keyed-hash.ts';
import { createSecretBox } from '../../src/security/secret-box.ts';
import { uniqueName } from '../helpers/backends.ts';
import { describeEachBackend } from './backends.ts';
import { oidcModelStoreBackends } from './oidc-model-store.backends.ts';

/**
 * The OidcModelStore as oidc-provider reaches it, through the adapter, on every backend: what a copy
 * of the database or of Redis holds is no set of working bearer tokens (issue 8), and every lookup
 * oidc-provider and the session index make still finds its artifact.
 */
const backends = oidcModelStoreBackends();

const id = () => uniqueName('id');

describeEachBackend(backends, (subject) => {
  // Issue 8: a copy of the database or of Redis must not be a set of working bearer tokens.
  describe('OidcModelStore behind the adapter, at rest', () => {
    const keyedHash = createKeyedHash('pepper of this test file');
    const box = createSecretBox(randomBytes(32));
    const adapterOf = (model: string): Adapter =>
      createAdapterFactory({
        models: subject().store,
        clients: { insertClient: async () => {}, findClient: async () => undefined, listClients: async () => [] },
        box,
        keyedHash,
        builtIn: [],
      })(model);

    /** One sign-in's worth of artifacts, each under a fresh value; `secrets` are the bearer values. */
    async function signIn() {
      const [access, refresh, code, cookie, interaction] = [id(), id(), id(), id(), id()];
      const [device, userCode, par, logout] = [id(), id(), id(), id()];
      const [grantId, uid, accountId] = [id(), id(), id()];
      const tokens = { access, refresh, code };
      const payloads = {
        AccessToken: { jti: access, kind: 'AccessToken', grantId, accountId, sessionUid: uid },
        RefreshToken: { jti: refresh, kind: 'RefreshToken', grantId, accountId, sessionUid: uid },
        AuthorizationCode: { jti: code, kind: 'AuthorizationCode', grantId, accountId, sessionUid: uid },
        Session: {
          jti: cookie,
          kind: 'Session',
          uid,
          accountId,
          authorizations: { rp: { grantId, sid: id() } },
          state: { secret: logout, clientId: 'rp' },
        },
        Interaction: {
          jti: interaction,
          kind: 'Interaction',
          session: { accountId, uid, cookie },
          deviceCode: device,
          parJti: par,
        },
        DeviceCode: { jti: device, kind: 'DeviceCode', userCode, grantId },
        Grant: { jti: grantId, kind: 'Grant', accountId, clientId: 'rp' },
      };
      for (const [model, payload] of Object.entries(payloads))
        await adapterOf(model).upsert(payload.jti, payload, 3600);
      const secrets = [access, refresh, code, cookie, interaction, device, userCode, par, logout];
      return { tokens, payloads, secrets, grantId, uid, userCode, accountId };
    }

    it('no stored key or payload holds a token, code, session cookie or user code', async () => {
      const { secrets } = await signIn();
      const raw = await subject().dump();
      for (const secret of secrets) expect(raw).not.toContain(secret);
    });

    it('gives oidc-provider back every payload exactly, by id, uid and user code', async () => {
      const { payloads, uid, userCode } = await signIn();
      for (const [model, payload] of Object.entries(payloads))
        expect(await adapterOf(model).find(payload.jti)).toEqual(payload);
      expect(await adapterOf('Session').findByUid(uid)).toEqual(payloads.Session);
      expect(await adapterOf('DeviceCode').findByUserCode(userCode)).toEqual(payloads.DeviceCode);
    });

    it('a key copied from the store is not a working token', async () => {
      const { tokens } = await signIn();
      const stored = keyedHash.digest('oidc-id', tokens.access);
      expect(await subject().store.find('AccessToken', stored)).toBeDefined();
      expect(await adapterOf('AccessToken').find(stored)).toBeUndefined();
    });

    it('consumes, destroys and revokes by the token value', async () => {
      const { tokens, grantId } = await signIn();
      await adapterOf('AuthorizationCode').consume(tokens.code);
      expect((await adapterOf('AuthorizationCode').find(tokens.code))?.consumed).toEqual(expect.any(Number));
      await adapterOf('AccessToken').destroy(tokens.access);
      expect(await adapterOf('AccessToken').find(tokens.access)).toBeUndefined();
      await adapterOf('RefreshToken').revokeByGrantId(grantId);
      expect(await adapterOf('RefreshToken').find(tokens.refresh)).toBeUndefined();
    });

    it("the person's indexes name what the session index can end and revoke", async () => {
      const { payloads, grantId, accountId } = await signIn();
      const { store } = subject();
      const [session] = await store.findSessionsOfAccount(accountId);
      expect(session).toMatchObject({ uid: payloads.Session.uid, authorizations: payloads.Session.authorizations });
      await store.destroy('Session', session!.jti as string);
      expect(await adapterOf('Session').find(payloads.Session.jti)).toBeUndefined();
      expect(await store.findGrantIdsOfAccount(accountId)).toEqual([grantId]);
      expect(await adapterOf('Grant').find(grantId)).toEqual(payloads.Grant);
    });

    it('an artifact stored in clear before issue 8 is not found (everyone signs in again once)', async () => {
      const [cookie, uid] = [id(), id()];
      await subject().store.upsert('Session', cookie, { jti: cookie, kind: 'Session', uid, accountId: id() }, 3600);
      expect(await adapterOf('Session').find(cookie)).toBeUndefined();
      expect(await adapterOf('Session').findByUid(uid)).toBeUndefined();
    });
  });
});
