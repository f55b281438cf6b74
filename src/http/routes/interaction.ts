import Router from '@koa/router';
import type { Context } from 'koa';
import type Provider from 'oidc-provider';
import { z } from 'zod';

import type { Accounts } from '../../domain/accounts.ts';
import type { Audit } from '../../domain/audit.ts';
import type { DeviceCookies } from '../../domain/device-cookies.ts';
import { personOf, type NextStep, type SignInFlow } from '../../domain/sign-in-flow.ts';
import type { FactorRegistry } from '../../factors/registry.ts';
import type { UserWithOrganization } from '../../ports/stores.ts';
import type { Csrf } from '../middleware/csrf.ts';
import { formBody } from '../middleware/form-body.ts';
import type { Views } from '../../ports/views.ts';
import {
  finish,
  loadInteraction,
  loadLoginInteraction,
  mfaRequested,
  trustCookieName,
  wrongStep,
} from './interaction-support.ts';
import { secondsText } from '../../domain/duration-text.ts';
import { domainErrors } from '../../domain/error-codes.ts';
import type { FinishSignIn } from './sign-in-completion.ts';
import { brandFor, type Brand } from './brand.ts';

export interface InteractionDeps {
  provider: Provider;
  accounts: Accounts;
  flow: SignInFlow;
  audit: Audit;
  views: Views;
  csrf: Csrf;
  maxPasswordLength: number;
  registry: FactorRegistry;
  finishSignIn: FinishSignIn;
  /** Absent until wired in the composition root: then every attempt counts per account and address. */
  deviceCookies: DeviceCookies;
  /** Over https, cookies carry the __Host- prefix. */
  secureCookies: boolean;
}

type Details = Awaited<ReturnType<typeof loadInteraction>>;

/** The client demands a fresh sign-in: max_age or prompt=login (OIDC Core §3.1.2.1). */
const demandsFreshSignIn = (params: Details['params']) =>
  params.max_age !== undefined ||
  String(params.prompt ?? '')
    .split(' ')
    .includes('login');

interface LoginModel {
  uid: string;
  clientId: unknown;
  email: string;
  errors: Record<string, string>;
  alert: string | null;
  /** A throttle's delay still running: the page counts it down. */
  waitSeconds?: number;
  /** Re-authentication of the session's account: its email is shown, never asked for. */
  stepUp: boolean;
  /** The organization's name and logo, once the account is known (a step-up). */
  brand?: Brand;
}

const loginForm = (maxPasswordLength: number) =>
  z.object({
    email: z.string().trim().min(1, 'Enter your email address.').max(254, 'That email address is too long.'),
    // A generous upper bound (in UTF-16 units), checked before anything is normalized or hashed.
    password: z
      .string()
      .min(1, 'Enter your password.')
      .max(maxPasswordLength * 4, 'That password is too long.'),
  });

/** The page of each second step: proving a factor, enrolling one, or the enrolment deadline. */
const STEP_PATHS = { 'second-factor': 'verify', enrol: 'enrol', grace: 'grace' } as const;

/** Where the browser goes after the password: the second factor, enrolment, or (nothing more required) the client. */
async function afterFirstFactor(
  deps: InteractionDeps,
  ctx: Context,
  uid: string,
  account: UserWithOrganization,
  next: NextStep,
): Promise<string> {
  if (next.step === 'done') return deps.finishSignIn(ctx, { person: personOf(account), methods: next.methods });
  await deps.audit.record({
    type: 'signin.password_ok',
    orgId: account.organization.id,
    userId: account.user.id,
    ip: ctx.ip,
  });
  return `/interaction/${uid}/${STEP_PATHS[next.step]}`;
}

/** Sign-in (email + password), consent and cancel: the oidc-provider interaction pages. */
export function interactionRoutes(deps: InteractionDeps): Router {
  const { provider, accounts, views, csrf, flow } = deps;
  const router = new Router({ prefix: '/interaction/:uid' });
  const schema = loginForm(deps.maxPasswordLength);

  const clientNameOf = async (clientId: unknown) => {
    const client = typeof clientId === 'string' ? await provider.Client.find(clientId) : undefined;
    return client?.clientName ?? client?.clientId ?? 'the application';
  };

  /** The session's account when this sign-in re-authenticates it (a step-up), else undefined. */
  async function stepUpAccount(details: Details): Promise<UserWithOrganization | undefined> {
    const accountId = details.session?.accountId;
    if (accountId === undefined || !demandsFreshSignIn(details.params)) return undefined;
    return accounts.findBySubject(accountId);
  }

  async function renderLogin(ctx: Context, model: LoginModel) {
    ctx.type = 'html';
    ctx.body = await views.render('interaction/login', {
      title: model.stepUp ? "Confirm it's you" : 'Sign in',
      stepUp: model.stepUp,
      brand: model.brand,
      uid: model.uid,
      clientName: await clientNameOf(model.clientId),
      email: model.email,
      errors: model.errors,
      alert: model.alert,
      waitSeconds: model.waitSeconds ?? 0,
      csrfToken: csrf.tokenFor(ctx),
      passwordless: deps.registry
        .all()
        .filter((f) => f.passwordless !== undefined)
        .map((f) => f.kind),
    });
  }

  router.use(async (ctx, next) => {
    ctx.set('cache-control', 'no-store');
    await next();
  });

  router.get('/', async (ctx) => {
    const details = await loadInteraction(provider, ctx);
    const { prompt, params } = details;
    if (prompt.name === 'login') {
      const stepUp = await stepUpAccount(details);
      const hint = typeof params.login_hint === 'string' && params.login_hint.length <= 254 ? params.login_hint : '';
      const email = stepUp?.user.email ?? hint;
      return renderLogin(ctx, {
        uid: details.uid,
        clientId: params.client_id,
        email,
        errors: {},
        alert: null,
        stepUp: !!stepUp,
        ...(stepUp ? { brand: brandFor(ctx, stepUp.organization) } : {}),
      });
    }
    if (prompt.name === 'consent') {
      const scopes = String(params.scope ?? '')
        .split(' ')
        .filter((s) => ['email', 'profile', 'offline_access'].includes(s));
      ctx.type = 'html';
      ctx.body = await views.render('interaction/consent', {
        title: 'Allow access',
        uid: details.uid,
        clientName: await clientNameOf(params.client_id),
        scopes,
        csrfToken: csrf.tokenFor(ctx),
      });
      return;
    }
    throw wrongStep();
  });

  router.post('/login', formBody(), csrf.verify, async (ctx) => {
    const details = await loadLoginInteraction(provider, ctx);
    const stepUp = await stepUpAccount(details);
    const body = ctx.request.body as Record<string, unknown>;
    // A step-up signs in the session's account again, whatever email the form carries.
    const raw = stepUp ? { ...body, email: stepUp.user.email } : body;
    const parsed = schema.safeParse(raw);
    const email = typeof raw.email === 'string' ? raw.email.slice(0, 254) : '';
    const page = {
      uid: details.uid,
      clientId: details.params.client_id,
      email,
      stepUp: !!stepUp,
      ...(stepUp ? { brand: brandFor(ctx, stepUp.organization) } : {}),
    };
    if (!parsed.success) {
      const errors = Object.fromEntries(parsed.error.issues.map((i) => [String(i.path[0]), i.message]));
      ctx.status = 400;
      return renderLogin(ctx, { ...page, errors, alert: null });
    }
    const cookies = deps.deviceCookies;
    const device = cookies.deviceFor(ctx.cookies.get(cookies.name), parsed.data.email);
    const result = await accounts.verifyPassword({ ...parsed.data, ip: ctx.ip, ...(device ? { device } : {}) });
    if (!result.ok) {
      ctx.status = { throttled: 429, disabled: 403, invalid_credentials: 401 }[result.reason];
      if (result.reason === 'throttled') ctx.set('Retry-After', String(result.retryAfterSeconds));
      const alert =
        result.reason === 'throttled'
          ? `Too many failed attempts. Your password was not checked: wait ${secondsText(result.retryAfterSeconds)}, then enter it again.`
          : result.reason === 'disabled'
            ? domainErrors.specs.account_disabled.message
            : 'The email or password is incorrect.';
      const waitSeconds = result.reason === 'throttled' ? result.retryAfterSeconds : 0;
      return renderLogin(ctx, { ...page, errors: {}, alert, waitSeconds });
    }
    const next = await flow.afterPassword(details.uid, result.account, {
      mfaRequested: mfaRequested(details.params),
      // Re-authentication: a session exists, or the client demands a fresh sign-in (max_age,
      // prompt=login). A trusted browser never skips the second factor then.
      reauthentication: details.session?.accountId !== undefined || demandsFreshSignIn(details.params),
      trustToken: ctx.cookies.get(trustCookieName(deps.secureCookies)),
    });
    ctx.status = 303;
    ctx.redirect(await afterFirstFactor(deps, ctx, details.uid, result.account, next));
  });

  router.post('/confirm', formBody(), csrf.verify, async (ctx) => {
    const details = await loadInteraction(provider, ctx);
    const { prompt, params, session } = details;
    if (prompt.name !== 'consent' || !session) throw wrongStep();
    const grant = details.grantId
      ? await provider.Grant.find(details.grantId)
      : new provider.Grant({ accountId: session.accountId, clientId: String(params.client_id) });
    if (!grant) throw wrongStep();
    const missing = prompt.details as { missingOIDCScope?: string[]; missingOIDCClaims?: string[] };
    if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
    if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
    const grantId = await grant.save();
    await finish(provider, ctx, { consent: details.grantId ? {} : { grantId } }, true);
  });

  router.post('/abort', formBody(), csrf.verify, async (ctx) => {
    await loadInteraction(provider, ctx);
    await finish(
      provider,
      ctx,
      { error: 'access_denied', error_description: 'The person cancelled the sign-in.' },
      false,
    );
  });

  return router;
}
