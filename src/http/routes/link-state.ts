import type { Context } from 'koa';

import type { EphemeralStore } from '../../ports/ephemeral-store.ts';
import type { KeyedHash } from '../../ports/keyed-hash.ts';
import type { Random } from '../../ports/random.ts';

/** What every browser-bound use of an emailed link keeps: the link's hash, never its secret. */
export interface LinkState {
  tokenHash: string;
}

/**
 * One browser's use of an emailed one-time link. The secret leaves the URL on the first visit
 * (so it is not left in history, logs or a Referer): the browser gets a cookie with a fresh random
 * id, and the ephemeral store keeps the link's hash and the progress made, under a keyed hash of
 * that id. What one browser proved (a second factor) is therefore never credited to another
 * browser holding the same link.
 */
export interface LinkStates<S extends LinkState> {
  /** Starts a use of the link in this browser (sets the cookie). */
  begin(ctx: Context, state: S, ttlSeconds: number): Promise<void>;
  /** This browser's use, with the key the factor routes bind their one-time state to. */
  load(ctx: Context): Promise<{ binding: string; state: S } | undefined>;
  save(ctx: Context, state: S, ttlSeconds: number): Promise<void>;
}

export function createLinkStates<S extends LinkState>(deps: {
  /** Names the cookie and the stored keys: `password-reset`, `invitation`. */
  name: string;
  ephemeral: EphemeralStore;
  keyedHash: KeyedHash;
  random: Random;
  /** Over https the cookie takes the __Host- prefix (RFC 6265bis §4.1.3.2). */
  secureCookies: boolean;
}): LinkStates<S> {
  const { name, ephemeral, secureCookies } = deps;
  const cookie = secureCookies ? `__Host-twofold.${name}` : `twofold.${name}`;
  const keyOf = (id: string) => `${name}:${deps.keyedHash.digest(name, id)}`;
  const idOf = (ctx: Context) => {
    const id = ctx.cookies.get(cookie);
    return id && /^[A-Za-z0-9_-]{43}$/.test(id) ? id : undefined;
  };

  return {
    async begin(ctx, state, ttlSeconds) {
      const id = deps.random.token(32);
      await ephemeral.put(keyOf(id), state, ttlSeconds);
      // Lax: the link is opened from a mail client, a cross-site top-level navigation.
      ctx.cookies.set(cookie, id, {
        httpOnly: true,
        sameSite: 'lax',
        secure: secureCookies,
        path: '/',
        maxAge: ttlSeconds * 1000,
        overwrite: true,
      });
    },
    async load(ctx) {
      const id = idOf(ctx);
      const state = id ? await ephemeral.get<S>(keyOf(id)) : undefined;
      return id && state ? { binding: keyOf(id), state } : undefined;
    },
    async save(ctx, state, ttlSeconds) {
      const id = idOf(ctx);
      if (id) await ephemeral.put(keyOf(id), state, ttlSeconds);
    },
  };
}
