import Router from '@koa/router';
import type { Context, Middleware } from 'koa';
import { z } from 'zod';

import type { Accounts } from '../../domain/accounts.ts';
import type { AccountSecurity } from '../../domain/account-security.ts';
import type { AccountSession, AccountSessions } from '../../domain/account-sessions.ts';
import { httpErrors } from '../error-codes.ts';
import type { FactorRegistry } from '../../factors/registry.ts';
import type { EphemeralStore } from '../../ports/ephemeral-store.ts';
import type { Clock } from '../../ports/clock.ts';
import type { Csrf } from '../middleware/csrf.ts';
import { formBody } from '../middleware/form-body.ts';
import type { Transactions } from '../../ports/transactions.ts';
import type { Views } from '../../ports/views.ts';
import { createAccountRenderer, loadAccountContext } from './account-context.ts';
import { enrolChoices, enrolmentRoutes, type FieldProblem } from './factors/enrolment-routes.ts';
import { methodRow } from './factors/method-label.ts';
import { codesFileName } from './factors/codes-file-name.ts';
import { secondsText } from '../../domain/duration-text.ts';
import { trustedBrowserRows } from './trusted-browser-rows.ts';

export interface AccountTwoFactorDeps {
  accounts: Accounts;
  security: AccountSecurity;
  sessions: AccountSessions;
  registry: FactorRegistry;
  ephemeral: EphemeralStore;
  views: Views;
  csrf: Csrf;
  requireAccount: Middleware;
  requireFreshAuth: Middleware;
  /** The step-up window, for the wording on the page. */
  maxAgeSeconds: number;
  clock: Clock;
  transactions: Pick<Transactions, 'run'>;
  /** The asking browser's trusted-browser token, if it holds one (its row says "This browser"). */
  trustToken(ctx: Context): string | undefined;
}

const UNREADABLE = 'The form could not be read. Reload the page and try again.';

const form = z.object({
  factorId: z.string().max(64).default(''),
  id: z.string().max(64).default(''),
});

const NOTICES: Record<string, string> = {
  added: 'The method was added.',
  removed: 'The method was removed.',
  preferred: 'Your preferred method was changed.',
  disabled: 'Two-step verification is off. Your methods and recovery codes were deleted.',
  revoked: 'That browser will ask for your second step again.',
};

/**
 * Two-step verification settings. Every change sits behind requireFreshAuth (OIDC max_age,
 * 300 s by default), declared once on the routes below and never re-checked in a handler.
 */
export function accountTwoFactorRoutes(deps: AccountTwoFactorDeps): Router[] {
  const { security, views, csrf } = deps;
  const router = new Router({ prefix: '/account' });
  const guards = [csrf.verify, deps.requireAccount, deps.requireFreshAuth];
  const change = [formBody(), ...guards];

  async function context(ctx: Context) {
    const { account, found, person } = await loadAccountContext(ctx, deps.accounts);
    return { account, person, org: found.organization, role: found.user.role, binding: `account:${account.userId}` };
  }
  const render = createAccountRenderer(views, csrf);

  const parse = (ctx: Context) => {
    const parsed = form.safeParse(ctx.request.body);
    if (!parsed.success) throw httpErrors.raise('invalid_form', { message: UNREADABLE });
    return parsed.data;
  };

  /** New recovery codes wait for this account session alone (not every browser of the person). */
  const codesKey = (ctx: Context) => `show-codes:${(ctx.state.account as AccountSession).id}`;

  const settingsPage = async (ctx: Context, problem: FieldProblem | null = null) => {
    const { person, org, role } = await context(ctx);
    const done = typeof ctx.query.done === 'string' ? NOTICES[ctx.query.done] : undefined;
    const overview = await security.overview(person, org, deps.trustToken(ctx));
    // The organization may forbid a kind the person has: it is shown as such, and never offered to add.
    const allowed = deps.registry.allowedFor(org, role).map((f) => f.kind);
    const rows = overview.methods.map((m) => ({ ...methodRow(m), allowed: allowed.includes(m.kind) }));
    await render(ctx, 'account/two-factor', 'Two-step verification', {
      nav: 'two-factor',
      overview: { ...overview, methods: rows },
      trustedBrowsers: trustedBrowserRows(overview.trustedBrowsers),
      noneAllowed: rows.length > 0 && rows.every((m) => !m.allowed),
      methods: await enrolChoices(
        deps.registry,
        deps.registry.enrollableFor(org, role).map((f) => f.kind),
        person,
      ),
      problem: problem && { kind: problem.kind, errors: { [problem.field]: problem.message }, values: problem.values },
      orgName: org.name,
      maxAgeText:
        deps.maxAgeSeconds % 60 === 0
          ? `${deps.maxAgeSeconds / 60} minute${deps.maxAgeSeconds === 60 ? '' : 's'}`
          : secondsText(deps.maxAgeSeconds),
      notice: done ?? null,
      alert: null,
    });
  };

  router.get('/two-factor', deps.requireAccount, (ctx) => settingsPage(ctx));

  const simple = (
    path: string,
    action: (ctx: Context, c: Awaited<ReturnType<typeof context>>, input: z.output<typeof form>) => Promise<string>,
  ) =>
    router.post(path, ...change, async (ctx) => {
      const target = await action(ctx, await context(ctx), parse(ctx));
      ctx.status = 303;
      ctx.redirect(target);
    });

  simple(
    '/two-factor/remove',
    async (ctx, { person, org }, { factorId }) => (
      await security.removeMethod(person, org, factorId, ctx.ip),
      '/account/two-factor?done=removed'
    ),
  );
  simple(
    '/two-factor/preferred',
    async (_ctx, { person }, { factorId }) => (
      await security.setPreferred(person, factorId),
      '/account/two-factor?done=preferred'
    ),
  );
  simple(
    '/two-factor/disable',
    async (ctx, { person, org }) => (
      await security.disableTfa(person, org, ctx.ip),
      '/account/two-factor?done=disabled'
    ),
  );
  simple('/two-factor/recovery-codes', async (ctx, { person }) => {
    await deps.ephemeral.put(codesKey(ctx), await security.regenerateRecoveryCodes(person, ctx.ip), 600);
    return '/account/recovery-codes';
  });
  simple(
    '/trusted-browsers/revoke',
    async (ctx, { person }, { id }) => (
      await security.revokeTrustedBrowser(person, id, ctx.ip),
      '/account/two-factor?done=revoked'
    ),
  );

  router.get('/recovery-codes', deps.requireAccount, async (ctx) => {
    // Shown once: taking them from the store means a reload cannot show them again.
    const codes = await deps.ephemeral.take<string[]>(codesKey(ctx));
    const { person, org } = await context(ctx);
    await render(ctx, 'interaction/recovery-codes', 'Save your recovery codes', {
      codes: codes ?? null,
      download: codes ? codes.join('\n') : '',
      fileName: codesFileName({ organizationSlug: org.slug, email: person.email }, deps.clock.now()),
      finishAction: null,
    });
  });

  const methods = enrolmentRoutes(deps.registry, {
    prefix: '/account/two-factor',
    guards,
    transactions: deps.transactions,
    messages: {
      unreadable: UNREADABLE,
      setupExpired: 'This setup has expired. Start again from your two-step verification settings.',
    },
    async load(ctx) {
      const { person, binding, org, role } = await context(ctx);
      const kinds = deps.registry.enrollableFor(org, role).map((f) => f.kind);
      return { person, binding, base: '/account/two-factor', kinds };
    },
    showMethods: settingsPage,
    async enrolled(ctx, person, proven) {
      // The durable part first (the event, recovery codes), in the confirmation's transaction.
      const codes = await security.methodAdded(person, proven.method, ctx.ip);
      // The new factor was just proven here: with this fresh sign-in's password, the session is MFA.
      await deps.sessions.addFactor(ctx.state.accountToken as string | undefined, proven.amr);
      if (codes) await deps.ephemeral.put(codesKey(ctx), codes, 600);
      return codes ? '/account/recovery-codes' : '/account/two-factor?done=added';
    },
    render: (ctx, view, model) => render(ctx, view, String(model.title), model),
  });

  return [router, methods];
}
