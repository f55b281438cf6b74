import Provider from 'oidc-provider';

import { describeBrowser } from '../domain/trusted-browsers.ts';
import type { Clock } from '../ports/clock.ts';
import type { EphemeralStore } from '../ports/ephemeral-store.ts';

/** One signed-in browser, as the person sees it on the sessions page. */
export interface SessionEntry {
  /** The provider session's uid (the sid of its tokens). */
  uid: string;
  jti: string;
  device: string;
  ip: string | null;
  createdAt: number;
  lastSeen: number;
  expiresAt: number;
}

export interface SessionIndex {
  list(accountId: string): Promise<SessionEntry[]>;
  /** Ends one session: its grants (and so its refresh and access tokens) are revoked too. */
  signOut(accountId: string, uid: string): Promise<boolean>;
  /** Ends every session of the person except `keepUid`; returns how many ended. */
  signOutAll(accountId: string, keepUid: string | null): Promise<number>;
}

const key = (accountId: string) => `sessions-of:${accountId}`;

/**
 * Keeps, per account, the list of provider sessions (oidc-provider stores sessions by id only).
 * It listens to the provider's session events; the request context (IP, User-Agent) comes from
 * the provider's async-local context.
 */
export function createSessionIndex(deps: { provider: Provider; ephemeral: EphemeralStore; clock: Clock; sessionTtlSeconds: number }): SessionIndex {
  const { provider, ephemeral, clock } = deps;
  const load = async (accountId: string) => (await ephemeral.get<SessionEntry[]>(key(accountId))) ?? [];
  const save = (accountId: string, entries: SessionEntry[]) => ephemeral.put(key(accountId), entries, deps.sessionTtlSeconds);

  provider.on('session.saved', (session: { accountId?: string; uid: string; jti: string }) => {
    if (!session.accountId) return;
    const ctx = Provider.ctx;
    const now = clock.now();
    void (async () => {
      const entries = (await load(session.accountId!)).filter((e) => e.expiresAt > now);
      const existing = entries.find((e) => e.uid === session.uid);
      const entry: SessionEntry = {
        uid: session.uid,
        jti: session.jti,
        device: ctx ? describeBrowser(ctx.get('user-agent')) : existing?.device ?? 'A browser',
        ip: ctx?.ip ?? existing?.ip ?? null,
        createdAt: existing?.createdAt ?? now,
        lastSeen: now,
        expiresAt: now + deps.sessionTtlSeconds * 1000,
      };
      await save(session.accountId!, [entry, ...entries.filter((e) => e.uid !== session.uid)].slice(0, 50));
    })().catch(() => {});
  });

  async function end(entry: SessionEntry): Promise<void> {
    const session = await provider.Session.find(entry.jti);
    if (!session) return;
    const grants = Object.values(session.authorizations ?? {}).map((a) => a.grantId).filter((g): g is string => typeof g === 'string');
    // As oidc-provider's own logout does: the grant's codes and tokens, then the grant itself.
    await Promise.all(grants.map((grantId) => provider.AccessToken.revokeByGrantId(grantId)));
    await Promise.all(grants.map(async (grantId) => (await provider.Grant.find(grantId))?.destroy()));
    await session.destroy();
  }

  return {
    async list(accountId) {
      const now = clock.now();
      const entries = (await load(accountId)).filter((e) => e.expiresAt > now);
      const alive = await Promise.all(entries.map(async (e) => ((await provider.Session.find(e.jti)) ? e : null)));
      return alive.filter((e): e is SessionEntry => e !== null);
    },
    async signOut(accountId, uid) {
      const entries = await load(accountId);
      const entry = entries.find((e) => e.uid === uid);
      if (!entry) return false;
      await end(entry);
      await save(accountId, entries.filter((e) => e.uid !== uid));
      return true;
    },
    async signOutAll(accountId, keepUid) {
      const entries = await load(accountId);
      const ending = entries.filter((e) => e.uid !== keepUid);
      await Promise.all(ending.map(end));
      await save(accountId, entries.filter((e) => e.uid === keepUid));
      return ending.length;
    },
  };
}
