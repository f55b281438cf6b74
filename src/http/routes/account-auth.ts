import { createCipheriv, createDecipheriv, createHash } from 'node:crypto';
import Router from '@koa/router';
import type { Context, Middleware } from 'koa';
import type Provider from 'oidc-provider';

import { isFreshEnough, type AccountSession, type AccountSessions } from '../../domain/account-sessions.ts';
import { ACR_MFA } from '../../domain/authentication.ts';
import { assertThat } from '../../domain/errors.ts';
import { httpErrors } from '../error-codes.ts';
import type { Clock } from '../../ports/clock.ts';
import type { EphemeralStore } from '../../ports/ephemeral-store.ts';
import type { Random } from '../../ports/random.ts';
import type { Accounts } from '../../domain/accounts.ts';
import type { UserWithOrganization } from '../../ports/stores.ts';
import type { Audit } from '../../domain/audit.ts';
import type { Csrf } from '../middleware/csrf.ts';
import type { Views } from '../../ports/views.ts';
import { ACCOUNT_CLIENT_ID } from '../../oidc/account-client.ts';
import { formBody } from '../middleware/form-body.ts';
import { sessionLifetimeOf } from '../../domain/session-lifetime.ts';
import { ACCOUNT_COOKIE, RESUME_COOKIE, cookieName, cookieOptions } from './account-cookies.ts';
import { createSignInCancel } from './account-sign-in-cancel.ts';
import { requireAccount } from './require-account.ts';
import { brandFor } from './brand.ts';

const LOGIN_COOKIE = 'twofold.account-login';

interface LoginState {
  verifier: string;
  returnTo: string;
  resume: string | null;
  /** A re-authentication for a sensitive change (step-up): recorded in the audit trail once it succeeds. */
  fresh: boolean;
  /** The auth_time of the account session this sign-in renews, if any. */
  previousAuthTime: number | null;
}

/** What is stored while the person re-authenticates: the change itself only sealed. */
interface PendingAction {
  userId: string;
  /** `{ path, fields }`, AES-256-GCM under a key that only the asking browser holds (its cookie). */
  sealed: string;
}

interface PendingChange {
  path: string;
  fields: Record<string, string>;
}

/**
 * Field names that may carry a secret. A stale form with one is never kept, not even sealed: the
 * person signs in again and types it again (a password must not wait in a store or a page).
 */
const SECRET_FIELD = /pass|secret|code|token|current/i;
/** A checkbox sends the fixed value "on": a field like revokeAppPasswords=on names no secret. */
const holdsSecret = ([name, value]: [string, unknown]) => SECRET_FIELD.test(name) && value !== 'on';

/**
 * The pending change is sealed under the browser's binding value (32 random bytes), which the
 * server never stores: a reader of the ephemeral store cannot open it, and a browser without the
 * cookie cannot finish it (GCM authenticates; NIST SP 800-38D). One key per change, so a fixed nonce
 * would do; a random one costs nothing.
 */
function sealPending(change: PendingChange, key: Buffer, nonce: Buffer): string {
  const cipher = createCipheriv('aes-256-gcm', key, nonce);
  const body = Buffer.concat([cipher.update(JSON.stringify(change), 'utf8'), cipher.final()]);
  return [nonce, cipher.getAuthTag(), body].map((part) => part.toString('base64url')).join('.');
}

function openPending(sealed: unknown, binding: string | undefined): PendingChange | undefined {
  const [nonce, tag, body] = typeof sealed === 'string' ? sealed.split('.') : [];
  if (!binding || !/^[A-Za-z0-9_-]{43}$/.test(binding) || !nonce || !tag || body === undefined) return undefined;
  try {
    const decipher = createDecipheriv(
      'aes-256-gcm',
      Buffer.from(binding, 'base64url'),
      Buffer.from(nonce, 'base64url'),
      {
        authTagLength: 16,
      },
    );
    decipher.setAuthTag(Buffer.from(tag, 'base64url'));
    const text = Buffer.concat([decipher.update(Buffer.from(body, 'base64url')), decipher.final()]).toString('utf8');
    return JSON.parse(text) as PendingChange;
  } catch {
    return undefined;
  }
}

/** Only our own account pages are valid places to come back to. */
function safeReturnTo(value: unknown): string {
  return typeof value === 'string' && /^\/(account|admin)(\/[A-Za-z0-9/_-]*)?$/.test(value) ? value : '/account';
}

export interface AccountAuthDeps {
  provider: Provider;
  /** Whether the person has an active second factor: then a step-up must be multi-factor too. */
  hasSecondFactor(orgId: string, userId: string): Promise<boolean>;
  sessions: AccountSessions;
  ephemeral: EphemeralStore;
  accounts: Pick<Accounts, 'findBySubject' | 'findAccount'>;
  audit: Audit;
  random: Random;
  clock: Clock;
  views: Views;
  csrf: Csrf;
  issuer: string;
  secureCookies: boolean;
  maxAgeSeconds: number;
}

/**
 * Step-up (OIDC max_age): a change needs an auth_time no older than `maxAgeSeconds`. Otherwise
 * the person re-authenticates through the authorization endpoint with max_age. A change without
 * secrets is kept sealed (minus its CSRF token) and completed when they come back; a form that
 * carries a secret (a password) is dropped and the person comes back to the page to type it again.
 */
export function requireFreshAuth(
  deps: Pick<AccountAuthDeps, 'ephemeral' | 'random' | 'clock' | 'maxAgeSeconds' | 'hasSecondFactor' | 'secureCookies'>,
): Middleware {
  return async (ctx, next) => {
    const account = ctx.state.account as AccountSession;
    if (
      isFreshEnough(account, await deps.hasSecondFactor(account.orgId, account.userId), deps.clock, deps.maxAgeSeconds)
    )
      return next();
    // A script's JSON request cannot follow a sign-in page: it is told where to send the person
    // (back to the page it came from, where the change can be started again).
    if (ctx.is('application/json')) {
      ctx.status = 401;
      ctx.body = {
        error: 'login_required',
        error_description: 'Confirm it is you first.',
        redirect: '/account/login?fresh=1&return_to=/account/two-factor',
      };
      return;
    }
    ctx.status = 303;
    const body = Object.entries((ctx.request.body ?? {}) as Record<string, unknown>);
    if (ctx.method === 'GET' || body.some(holdsSecret))
      return ctx.redirect(`/account/login?fresh=1&return_to=${encodeURIComponent(ctx.path)}`);
    const fields = Object.fromEntries(body.filter(([k, v]) => k !== '_csrf' && typeof v === 'string')) as Record<
      string,
      string
    >;
    const id = deps.random.token(16);
    const key = deps.random.bytes(32);
    const sealed = sealPending({ path: ctx.path, fields }, key, deps.random.bytes(12));
    await deps.ephemeral.put(`resume:${id}`, { userId: account.userId, sealed } satisfies PendingAction, 600);
    const binding = key.toString('base64url');
    ctx.cookies.set(cookieName(RESUME_COOKIE, deps.secureCookies), binding, cookieOptions(deps.secureCookies, 600_000));
    ctx.redirect(`/account/login?fresh=1&resume=${id}`);
  };
}

const s256 = (verifier: string) => createHash('sha256').update(verifier).digest('base64url');

export function accountAuthRoutes(deps: AccountAuthDeps): Router {
  const router = new Router({ prefix: '/account' });
  const redirectUri = `${deps.issuer}/account/callback`;

  router.get('/login', async (ctx) => {
    const state = deps.random.token(24);
    const verifier = deps.random.token(32);
    const resume =
      typeof ctx.query.resume === 'string' && /^[A-Za-z0-9_-]{22}$/.test(ctx.query.resume) ? ctx.query.resume : null;
    const current = await deps.sessions.load(ctx.cookies.get(cookieName(ACCOUNT_COOKIE, deps.secureCookies)));
    await deps.ephemeral.put(
      `account-login:${state}`,
      {
        verifier,
        returnTo: safeReturnTo(ctx.query.return_to),
        resume,
        fresh: ctx.query.fresh === '1',
        previousAuthTime: current?.authTime ?? null,
      } satisfies LoginState,
      600,
    );
    // The state is bound to this browser: a callback link made in another browser (login CSRF,
    // RFC 6749 §10.12) finds no matching cookie here.
    ctx.cookies.set(cookieName(LOGIN_COOKIE, deps.secureCookies), state, cookieOptions(deps.secureCookies, 600_000));
    const url = new URL(`${deps.issuer}/auth`);
    url.search = new URLSearchParams({
      client_id: ACCOUNT_CLIENT_ID,
      response_type: 'code',
      scope: 'openid',
      redirect_uri: redirectUri,
      code_challenge: s256(verifier),
      code_challenge_method: 'S256',
      state,
      ...(ctx.query.fresh === '1' ? { max_age: String(deps.maxAgeSeconds) } : {}),
      ...(ctx.query.fresh === '1' && current && (await deps.hasSecondFactor(current.orgId, current.userId))
        ? { acr_values: ACR_MFA }
        : {}),
      ...(current ? { login_hint: current.email } : {}),
    }).toString();
    ctx.status = 303;
    ctx.redirect(url.href);
  });

  /**
   * What a step-up was for: the page asked for, or the path of the change waiting for it (read
   * with this browser's own key, as the resume page will; never its fields).
   */
  async function stepUpAction(ctx: Context, login: LoginState, userId: string): Promise<string | null> {
    if (!login.resume) return login.returnTo;
    const pending = await deps.ephemeral.get<PendingAction>(`resume:${login.resume}`);
    if (pending?.userId !== userId) return null;
    return openPending(pending.sealed, ctx.cookies.get(cookieName(RESUME_COOKIE, deps.secureCookies)))?.path ?? null;
  }

  /**
   * A step-up is recorded once the person has authenticated again during it (a later auth_time
   * than the session had): a sign-in still fresh enough is answered without one, and is none.
   */
  async function recordStepUp(
    ctx: Context,
    login: LoginState,
    found: UserWithOrganization,
    code: { authTime?: number; acr?: string; amr?: string[] },
  ): Promise<void> {
    if (!login.fresh || (code.authTime ?? 0) <= (login.previousAuthTime ?? 0)) return;
    await deps.audit.record({
      type: 'stepup.succeeded',
      orgId: found.organization.id,
      userId: found.user.id,
      detail: { action: await stepUpAction(ctx, login, found.user.id), acr: code.acr ?? null, amr: code.amr ?? [] },
    });
  }

  const cancelled = createSignInCancel({ ...deps, safeReturnTo, stepUpAction });
  router.get('/sign-in-cancelled', cancelled.page);

  router.get('/callback', async (ctx) => {
    const state = typeof ctx.query.state === 'string' ? ctx.query.state : '';
    const bound = ctx.cookies.get(cookieName(LOGIN_COOKIE, deps.secureCookies)) === state;
    const login =
      bound && /^[A-Za-z0-9_-]{32}$/.test(state)
        ? await deps.ephemeral.take<LoginState>(`account-login:${state}`)
        : undefined;
    ctx.cookies.set(cookieName(LOGIN_COOKIE, deps.secureCookies), '', {
      ...cookieOptions(deps.secureCookies, 0),
      maxAge: 0,
    });
    assertThat(login, () => httpErrors.raise('login_expired'));
    // Cancelled at the provider's sign-in page (OIDC Core §3.1.2.6): back to the page, not an error.
    if (ctx.query.error === 'access_denied') return cancelled.cancel(ctx, login);
    if (typeof ctx.query.error === 'string') throw httpErrors.raise('login_failed');
    const code =
      typeof ctx.query.code === 'string' && ctx.query.code.length < 256
        ? await deps.provider.AuthorizationCode.find(ctx.query.code)
        : undefined;
    // The checks the token endpoint would make for this client (RFC 6749 §4.1.3, RFC 7636 §4.6).
    const valid =
      code &&
      code.isValid &&
      code.clientId === ACCOUNT_CLIENT_ID &&
      code.redirectUri === redirectUri &&
      code.codeChallenge === s256(login.verifier);
    if (!code || !valid) throw httpErrors.raise('login_failed');
    await code.consume();
    const found = await deps.accounts.findBySubject(code.accountId!);
    assertThat(found, () => httpErrors.raise('account_gone'));
    const token = await deps.sessions.create({
      userId: found.user.id,
      orgId: found.organization.id,
      email: found.user.email,
      authTime: code.authTime!,
      acr: code.acr ?? '',
      amr: code.amr ?? [],
      providerSessionUid: code.sessionUid ?? null,
      lifetime: sessionLifetimeOf(found.organization),
    });
    await deps.sessions.destroy(ctx.cookies.get(cookieName(ACCOUNT_COOKIE, deps.secureCookies)));
    await recordStepUp(ctx, login, found, code);
    ctx.cookies.set(cookieName(ACCOUNT_COOKIE, deps.secureCookies), token, {
      httpOnly: true,
      sameSite: 'lax',
      secure: deps.secureCookies,
      // The account pages and the admin console share the session (both are this first-party client).
      path: '/',
      overwrite: true,
    });
    ctx.status = 303;
    ctx.redirect(login.resume ? `/account/resume/${login.resume}` : login.returnTo);
  });

  router.get('/resume/:id', requireAccount(deps), async (ctx) => {
    const account = ctx.state.account as AccountSession;
    const key = `resume:${ctx.params.id}`;
    const pending = /^[A-Za-z0-9_-]{22}$/.test(ctx.params.id ?? '')
      ? await deps.ephemeral.get<PendingAction>(key)
      : undefined;
    // Someone else's pending change is neither shown nor cancelled, and a change asked for in one
    // browser is finished only by that browser: only its cookie opens the sealed change.
    const change =
      pending && pending.userId === account.userId
        ? openPending(pending.sealed, ctx.cookies.get(cookieName(RESUME_COOKIE, deps.secureCookies)))
        : undefined;
    if (!change || !(await deps.ephemeral.take<PendingAction>(key))) return void ctx.redirect('/account');
    ctx.cookies.set(cookieName(RESUME_COOKIE, deps.secureCookies), '', {
      ...cookieOptions(deps.secureCookies, 0),
      maxAge: 0,
    });
    ctx.type = 'html';
    ctx.set('cache-control', 'no-store');
    ctx.body = await deps.views.render('account/resume', {
      title: 'Finishing your change',
      brand: brandFor(ctx, (ctx.state.accountFound as UserWithOrganization).organization),
      action: change.path,
      fields: Object.entries(change.fields),
      csrfToken: deps.csrf.tokenFor(ctx),
    });
  });

  router.post('/logout', formBody(), deps.csrf.verify, async (ctx: Context) => {
    await deps.sessions.destroy(ctx.cookies.get(cookieName(ACCOUNT_COOKIE, deps.secureCookies)));
    ctx.cookies.set(cookieName(ACCOUNT_COOKIE, deps.secureCookies), '', { path: '/', maxAge: 0, overwrite: true });
    const url = new URL(`${deps.issuer}/session/end`);
    url.search = new URLSearchParams({
      client_id: ACCOUNT_CLIENT_ID,
      post_logout_redirect_uri: `${deps.issuer}/account/signed-out`,
    }).toString();
    ctx.status = 303;
    ctx.redirect(url.href);
  });

  router.get('/signed-out', async (ctx) => {
    ctx.type = 'html';
    ctx.body = await deps.views.render('interaction/logged-out', { title: 'Signed out', clientName: null });
  });

  return router;
}
