import { createHmac, createSecretKey, timingSafeEqual } from 'node:crypto';
import type { Context, Middleware } from 'koa';

import type { Random } from '../../ports/random.ts';
import { httpErrors } from '../error-codes.ts';

/**
 * Over https the cookie is `__Host-twofold.csrf` (RFC 6265bis §4.1.3.2): only this host, over
 * https, with Path=/ and no Domain may set it. That is what binds the token to this browser: a
 * sibling subdomain can plant `twofold.csrf` (cookie tossing) with a value whose token it knows,
 * but never the __Host- cookie we read, so it cannot choose the value the token is checked against.
 */
const cookieName = (secure: boolean) => (secure ? '__Host-twofold.csrf' : 'twofold.csrf');

/**
 * Signed double-submit CSRF protection (OWASP CSRF Cheat Sheet): a random, HttpOnly, SameSite=Lax
 * cookie binds the browser; each form carries HMAC(key, cookie), checked in constant time on POST.
 * A forged form from another site has neither the cookie's value nor the key.
 */
export interface Csrf {
  /** The token to embed in forms for this browser (sets the cookie on first use). */
  tokenFor(ctx: Context): string;
  /** Rejects a POST whose `_csrf` field does not match this browser's token. */
  verify: Middleware;
}

export function createCsrf(deps: { key: string; random: Random; secureCookies: boolean }): Csrf {
  const cookie = cookieName(deps.secureCookies);
  const key = createSecretKey(Buffer.from(deps.key, 'utf8'));
  const sign = (value: string) => createHmac('sha256', key).update(`csrf:${value}`).digest('base64url');

  function tokenFor(ctx: Context): string {
    let value = ctx.cookies.get(cookie);
    if (!value || !/^[A-Za-z0-9_-]{43}$/.test(value)) {
      value = deps.random.token(32);
      ctx.cookies.set(cookie, value, {
        httpOnly: true,
        sameSite: 'lax',
        secure: deps.secureCookies,
        path: '/',
        overwrite: true,
      });
    }
    return sign(value);
  }

  return {
    tokenFor,
    async verify(ctx, next) {
      const value = ctx.cookies.get(cookie);
      const body = (ctx.request as { body?: unknown }).body;
      const sent = typeof body === 'object' && body !== null ? (body as Record<string, unknown>)._csrf : undefined;
      const expected = value ? Buffer.from(sign(value)) : undefined;
      const given = typeof sent === 'string' ? Buffer.from(sent) : undefined;
      const ok = expected && given && expected.length === given.length && timingSafeEqual(expected, given);
      if (!ok) {
        throw httpErrors.raise('csrf_failed');
      }
      await next();
    },
  };
}
