import Router from '@koa/router';
import type { Context, Middleware } from 'koa';
import { z } from 'zod';

import type { Accounts } from '../../domain/accounts.ts';
import type { AccountSession } from '../../domain/account-sessions.ts';
import type { AppPasswords } from '../../domain/app-passwords.ts';
import { AppError } from '../../domain/errors.ts';
import type { Methods } from '../../domain/methods.ts';
import { PROTOCOL_SCOPES } from '../../ports/app-password-store.ts';
import type { EphemeralStore } from '../../ports/ephemeral-store.ts';
import type { Views } from '../../ports/views.ts';
import { httpErrors } from '../error-codes.ts';
import type { Csrf } from '../middleware/csrf.ts';
import { formBody } from '../middleware/form-body.ts';
import { createAccountRenderer, loadAccountContext } from './account-context.ts';

export interface AccountAppPasswordDeps {
  accounts: Accounts;
  appPasswords: AppPasswords;
  methods: Methods;
  ephemeral: EphemeralStore;
  views: Views;
  csrf: Csrf;
  requireAccount: Middleware;
  requireFreshAuth: Middleware;
}

/** The protocols in the person's words, in the order the form shows them. */
const PROTOCOL_NAMES: Record<(typeof PROTOCOL_SCOPES)[number], string> = {
  imap: 'Reading mail (IMAP)',
  pop3: 'Downloading mail (POP3)',
  smtp: 'Sending mail (SMTP)',
  dav: 'Calendars and contacts (CalDAV, CardDAV)',
  activesync: 'Exchange ActiveSync',
};

const EXPIRY_DAYS = ['never', '30', '90', '365'] as const;

const createForm = z.object({
  name: z.string().max(200).default(''),
  // One checkbox arrives as a string, several as an array.
  scopes: z.union([z.string().max(20), z.array(z.string().max(20)).max(10)]).default([]),
  expires: z.enum(EXPIRY_DAYS).default('never'),
});
const idForm = z.object({ id: z.string().max(64).default('') });

const NOTICES: Record<string, string> = {
  revoked: 'The app password was revoked. Apps that used it are signed out.',
  'revoked-all': 'Every app password was revoked.',
};

/**
 * App passwords for mail and calendar apps that cannot do two-step sign-in: created (shown
 * once), listed and revoked behind the same fresh-sign-in rule as every security change.
 */
export function accountAppPasswordRoutes(deps: AccountAppPasswordDeps): Router {
  const router = new Router({ prefix: '/account/app-passwords' });
  const change = [formBody(), deps.csrf.verify, deps.requireAccount, deps.requireFreshAuth];
  const render = createAccountRenderer(deps.views, deps.csrf);
  /** The new password waits for this account session alone, and only once. */
  const shownKey = (ctx: Context) => `show-app-password:${(ctx.state.account as AccountSession).id}`;

  async function context(ctx: Context) {
    const { found, person } = await loadAccountContext(ctx, deps.accounts);
    const hasTfa = await deps.methods.hasAny(person);
    return { person, org: found.organization, hasTfa };
  }

  async function page(ctx: Context, form: { errors: Record<string, string>; values: Record<string, unknown> }) {
    const { person, org, hasTfa } = await context(ctx);
    const verdict = deps.appPasswords.mayCreate(org, hasTfa);
    const done = typeof ctx.query.done === 'string' ? NOTICES[ctx.query.done] : undefined;
    await render(ctx, 'account/app-passwords', 'App passwords', {
      nav: 'app-passwords',
      email: person.email,
      passwords: (await deps.appPasswords.list(person)).map((p) => ({
        ...p,
        protocols: p.scopes.map((s) => PROTOCOL_NAMES[s]),
      })),
      allowed: verdict.allowed,
      reason: verdict.allowed ? null : verdict.reason,
      protocols: PROTOCOL_SCOPES.map((scope) => ({ scope, name: PROTOCOL_NAMES[scope] })),
      notice: done ?? null,
      errors: form.errors,
      values: form.values,
    });
  }

  router.get('/', deps.requireAccount, (ctx) => page(ctx, { errors: {}, values: {} }));

  router.post('/', ...change, async (ctx) => {
    const parsed = createForm.safeParse(ctx.request.body);
    if (!parsed.success) throw httpErrors.raise('invalid_form');
    const { name, expires } = parsed.data;
    const scopes = [parsed.data.scopes].flat();
    const { person, org, hasTfa } = await context(ctx);
    try {
      const created = await deps.appPasswords.create(
        person,
        org,
        hasTfa,
        { name, scopes: scopes as never, expiresInDays: expires === 'never' ? null : Number(expires) },
        ctx.ip,
      );
      await deps.ephemeral.put(shownKey(ctx), { name: created.summary.name, password: created.password }, 600);
    } catch (error) {
      if (!(error instanceof AppError) || Object.keys(error.fields).length === 0) throw error;
      ctx.status = error.status;
      return page(ctx, { errors: error.fields, values: { name, scopes, expires } });
    }
    ctx.status = 303;
    ctx.redirect('/account/app-passwords/new');
  });

  router.get('/new', deps.requireAccount, async (ctx) => {
    // Shown once: taking it from the store means a reload cannot show it again.
    const shown = await deps.ephemeral.take<{ name: string; password: string }>(shownKey(ctx));
    const { person } = await context(ctx);
    await render(ctx, 'account/app-password-new', 'Your new app password', {
      nav: 'app-passwords',
      shown: shown ?? null,
      email: person.email,
    });
  });

  router.post('/revoke', ...change, async (ctx) => {
    const parsed = idForm.safeParse(ctx.request.body);
    if (!parsed.success) throw httpErrors.raise('invalid_form');
    const { person } = await context(ctx);
    await deps.appPasswords.revoke(person, parsed.data.id, ctx.ip);
    ctx.status = 303;
    ctx.redirect('/account/app-passwords?done=revoked');
  });

  router.post('/revoke-all', ...change, async (ctx) => {
    const { person } = await context(ctx);
    await deps.appPasswords.revokeAll(person, ctx.ip);
    ctx.status = 303;
    ctx.redirect('/account/app-passwords?done=revoked-all');
  });

  return router;
}
