import Provider from 'oidc-provider';
import type { Logger } from 'pino';

import { describeBrowser } from '../domain/trusted-browsers.ts';
import type { Clock } from '../ports/clock.ts';
import type { EphemeralStore } from '../ports/ephemeral-store.ts';
import type { OidcModelStore } from '../ports/oidc-model-store.ts';

/** One signed-in browser, as the person sees it on the sessions page. */
export interface SessionEntry {
  /** The provider session's uid (the sid of its tokens). */
  uid: string;
  device: string;
  ip: string | null;
  createdAt: number;
  lastSeen: number;
}

export interface SessionIndex {
  list(accountId: string): Promise<SessionEntry[]>;
  /** Ends one session: its grants (and so its refresh and access tokens) are revoked too. */
  signOut(accountId: string, uid: string): Promise<boolean>;
  /** Ends every session of the person except `keepUid`; returns how many ended. */
  signOutAll(accountId: string, keepUid: string | null): Promise<number>;
}

interface SessionInfo {
  device: string;
  ip: string | null;
  createdAt: number;
  lastSeen: number;
}

interface StoredSession {
  jti: string;
  uid: string;
  accountId?: string;
  iat?: number;
  authorizations?: Record<string, { grantId?: string }>;
}

/**
 * The person's browser sessions come from the session store itself (indexed by account), so
 * none is missed; what the page shows about each (device, address, last seen) is kept per
 * session, written on the provider's session events from its request context.
 */
export function createSessionIndex(deps: {
  provider: Provider;
  models: OidcModelStore;
  ephemeral: EphemeralStore;
  clock: Clock;
  sessionTtlSeconds: number;
  logger: Logger;
}): SessionIndex {
  const { provider, ephemeral, clock } = deps;
  const infoKey = (uid: string) => `session-info:${uid}`;

  provider.on('session.saved', (session: { accountId?: string; uid: string }) => {
    if (!session.accountId) return;
    const ctx = Provider.ctx;
    const now = clock.now();
    void (async () => {
      const known = await ephemeral.get<SessionInfo>(infoKey(session.uid));
      const info: SessionInfo = {
        device: ctx ? describeBrowser(ctx.get('user-agent')) : (known?.device ?? 'A browser'),
        ip: ctx?.ip ?? known?.ip ?? null,
        createdAt: known?.createdAt ?? now,
        lastSeen: now,
      };
      await ephemeral.put(infoKey(session.uid), info, deps.sessionTtlSeconds);
    })().catch((error: unknown) => deps.logger.warn({ err: error }, 'could not record the device of a session'));
  });

  const sessionsOf = async (accountId: string) =>
    (await deps.models.findSessionsOfAccount(accountId)) as unknown as StoredSession[];

  async function end(session: StoredSession): Promise<void> {
    const grants = Object.values(session.authorizations ?? {})
      .map((a) => a.grantId)
      .filter((g): g is string => typeof g === 'string');
    // As oidc-provider's own logout does: the grant's codes and tokens, then the grant itself.
    await Promise.all(grants.map((grantId) => provider.AccessToken.revokeByGrantId(grantId)));
    await Promise.all(grants.map(async (grantId) => (await provider.Grant.find(grantId))?.destroy()));
    await deps.models.destroy('Session', session.jti);
    await ephemeral.delete(infoKey(session.uid));
  }

  return {
    async list(accountId) {
      const sessions = await sessionsOf(accountId);
      const entries = await Promise.all(
        sessions.map(async (s) => {
          const info = await ephemeral.get<SessionInfo>(infoKey(s.uid));
          const started = (s.iat ?? 0) * 1000;
          return {
            uid: s.uid,
            device: info?.device ?? 'A browser',
            ip: info?.ip ?? null,
            createdAt: info?.createdAt ?? started,
            lastSeen: info?.lastSeen ?? started,
          };
        }),
      );
      return entries.sort((a, b) => b.lastSeen - a.lastSeen);
    },
    async signOut(accountId, uid) {
      const session = (await sessionsOf(accountId)).find((s) => s.uid === uid);
      if (!session) return false;
      await end(session);
      return true;
    },
    async signOutAll(accountId, keepUid) {
      const ending = (await sessionsOf(accountId)).filter((s) => s.uid !== keepUid);
      await Promise.all(ending.map(end));
      return ending.length;
    },
  };
}
