import Provider from 'oidc-provider';
import type { Logger } from 'pino';

import { deviceName } from '../domain/user-agent.ts';
import type { AccountAccess } from '../ports/account-access.ts';
import type { Clock } from '../ports/clock.ts';
import type { EphemeralStore } from '../ports/ephemeral-store.ts';
import type { OidcModelStore } from '../ports/oidc-model-store.ts';
import { legacyGrantId } from './password-grant.ts';

/** One signed-in browser, as the person sees it on the sessions page. */
export interface SessionEntry {
  /** The provider session's uid (the sid of its tokens). */
  uid: string;
  device: string;
  ip: string | null;
  createdAt: number;
  lastSeen: number;
  /** The clients (apps) this session has signed in to. */
  clientIds: string[];
}

/** The person's browser sessions, for the sessions page, and the end of all their access (AccountAccess). */
export interface SessionIndex extends AccountAccess {
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
 * The password grant keeps one grant per app password (or account password) and client, under an id
 * it derives (legacyGrantId), and each node remembers which of those it has saved. Ending a person's
 * access revokes such a grant's tokens but keeps the grant: were it destroyed, a node would go on
 * issuing tokens of a missing grant (inactive at introspection) for an app password that was kept.
 * Revoking the app password destroys its grant (AppPasswordTokens).
 */
function isPasswordGrant(grant: { jti: string; clientId?: string }): boolean {
  if (grant.clientId === undefined) return false;
  // The id legacyGrantId derives around a marker, split into what comes before and after the password id.
  const [before, after] = legacyGrantId('\n', grant.clientId).split('\n') as [string, string];
  return grant.jti.length > before.length + after.length && grant.jti.startsWith(before) && grant.jti.endsWith(after);
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
        device: ctx ? deviceName(ctx.get('user-agent')) : (known?.device ?? 'A browser'),
        ip: ctx?.ip ?? known?.ip ?? null,
        createdAt: known?.createdAt ?? now,
        lastSeen: now,
      };
      await ephemeral.put(infoKey(session.uid), info, deps.sessionTtlSeconds);
    })().catch((error: unknown) => deps.logger.warn({ err: error }, 'could not record the device of a session'));
  });

  const sessionsOf = async (accountId: string) =>
    (await deps.models.findSessionsOfAccount(accountId)) as unknown as StoredSession[];

  const grantsOf = (session: StoredSession) =>
    Object.values(session.authorizations ?? {})
      .map((a) => a.grantId)
      .filter((g): g is string => typeof g === 'string');

  /**
   * Revokes the grant's codes and tokens, then the grant itself, as oidc-provider's own logout does;
   * answers whether the grant was there.
   */
  async function revokeGrant(grantId: string): Promise<boolean> {
    await provider.AccessToken.revokeByGrantId(grantId);
    const grant = await provider.Grant.find(grantId);
    if (grant && !isPasswordGrant(grant)) await grant.destroy();
    return grant !== undefined;
  }

  async function forget(session: StoredSession): Promise<void> {
    await deps.models.destroy('Session', session.jti);
    await ephemeral.delete(infoKey(session.uid));
  }

  // The session goes first: once it is gone no authorization request can use it to issue more.
  async function end(session: StoredSession): Promise<void> {
    await forget(session);
    await Promise.all(grantsOf(session).map(revokeGrant));
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
            clientIds: Object.keys(s.authorizations ?? {}),
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
    async endAll(accountId) {
      const sessions = await sessionsOf(accountId);
      await Promise.all(sessions.map(forget));
      // Read once the sessions are gone, so that a grant one of them made meanwhile is found too. The
      // index also holds grants that outlive their session (offline_access) and the password grant's.
      const grantIds = new Set([
        ...sessions.flatMap(grantsOf),
        ...(await deps.models.findGrantIdsOfAccount(accountId)),
      ]);
      const revoked = await Promise.all([...grantIds].map(revokeGrant));
      return { sessions: sessions.length, grants: revoked.filter(Boolean).length };
    },
  };
}
