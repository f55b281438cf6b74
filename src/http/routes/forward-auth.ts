import Router from '@koa/router';
import type { Context } from 'koa';
import { z } from 'zod';

import type { Clients } from '../../domain/clients.ts';
import type { LegacySignIn } from '../../domain/legacy-sign-in.ts';
import { PROTOCOL_SCOPES, type ProtocolScope } from '../../ports/app-password-store.ts';

/** `Basic base64(user:password)` (RFC 7617), split at the first colon; undefined when malformed. */
export function parseBasic(header: string | undefined): { user: string; password: string } | undefined {
  const match = /^Basic ([A-Za-z0-9+/]+={0,2})$/i.exec(header?.trim() ?? '');
  if (!match || match[1]!.length > 2048) return undefined;
  const decoded = Buffer.from(match[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon <= 0) return undefined;
  return { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

const query = z.object({ scope: z.enum(PROTOCOL_SCOPES).optional() });

/**
 * Forward authentication for reverse proxies (nginx `auth_request`, Traefik `forwardAuth`) in
 * front of CalDAV/CardDAV servers: the person's Basic credentials (username + app password) are
 * checked like the password grant's; the proxy proves itself with `X-Twofold-Client`.
 */
export function forwardAuthRoutes(deps: { clients: Clients; legacy: LegacySignIn; realm: string }): Router {
  const router = new Router();

  const refuse = (ctx: Context, status: 401 | 403, message: string) => {
    ctx.status = status;
    // RFC 7617 §2: the browser or calendar client asks for the username and app password again.
    if (status === 401) ctx.set('WWW-Authenticate', `Basic realm="${deps.realm}", charset="UTF-8"`);
    ctx.body = { error: status === 401 ? 'invalid_credentials' : 'invalid_client', error_description: message };
  };

  router.get('/forward-auth', async (ctx) => {
    ctx.set('cache-control', 'no-store');
    const proxy = parseBasic(ctx.get('x-twofold-client'));
    const client = proxy && (await deps.clients.authenticateClient(proxy.user, proxy.password));
    if (!client?.forwardAuth) return refuse(ctx, 403, 'The proxy is not registered for forward authentication.');
    const parsed = query.safeParse(ctx.query);
    if (!parsed.success) return refuse(ctx, 403, 'Unknown scope: use one of ' + PROTOCOL_SCOPES.join(', ') + '.');
    const person = parseBasic(ctx.get('authorization'));
    if (!person) return refuse(ctx, 401, 'Sign in with your email address and an app password.');
    // The protocol the proxy protects: its query, else what it was registered for, else CalDAV/CardDAV.
    const registered = String(client.metadata.scope ?? '')
      .split(' ')
      .filter((s) => (PROTOCOL_SCOPES as readonly string[]).includes(s));
    const scopes = parsed.data.scope
      ? [parsed.data.scope]
      : registered.length > 0
        ? (registered as ProtocolScope[])
        : ['dav' as const];
    const outcome = await deps.legacy.authenticate({
      username: person.user,
      password: person.password,
      ip: ctx.ip,
      scopes,
      protocol: scopes.join(' '),
    });
    if (!outcome.ok) return refuse(ctx, 401, 'The email address or app password is not right.');
    ctx.status = 200;
    ctx.set('X-Twofold-User', outcome.grant.account.user.email);
    ctx.set('X-Twofold-Scope', outcome.grant.scopes.join(' '));
    ctx.body = '';
  });

  return router;
}
