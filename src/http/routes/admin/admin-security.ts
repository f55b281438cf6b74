import Router from '@koa/router';
import type { Context, Middleware } from 'koa';
import { z } from 'zod';

import { AppError } from '../../../domain/errors.ts';
import type { Organizations } from '../../../domain/organizations.ts';
import { COUNTRY_OPTIONS } from '../../../domain/phone-numbers.ts';
import type { Organization } from '../../../ports/stores.ts';
import type { Views } from '../../../ports/views.ts';
import { httpErrors } from '../../error-codes.ts';
import type { Csrf } from '../../middleware/csrf.ts';
import { formBody } from '../../middleware/form-body.ts';
import { createAccountRenderer } from '../account-context.ts';
import { adminOf } from './admin-context.ts';

export interface AdminSecurityDeps {
  organizations: Pick<Organizations, 'updatePolicy'>;
  views: Views;
  csrf: Csrf;
  guards: Middleware[];
  requireFreshAuth: Middleware;
  maxAgeSeconds: number;
  /** The model of the page's methods section (its forms post to their own router), with what was sent. */
  methodPolicy(org: Organization, values: Record<string, unknown>): Record<string, unknown>;
}

/** What the Security page shows again after a refused form: the messages by field, and what was sent. */
export interface SecurityForm {
  errors: Record<string, string>;
  values: Record<string, unknown>;
}

const enforcementForm = z.object({ to: z.enum(['on', 'off']) });
const settingsForm = z.object({
  trustedBrowserDays: z.string().regex(/^\d{1,3}$/, 'Use 0 to 365 days.'),
  passwordMinLength: z.string().regex(/^(\d{1,2})?$/, 'Use 8 to 64 characters, or leave it empty.'),
});

const NOTICES: Record<string, string> = {
  on: 'Two-step verification is now required for everyone. People without a method set one up at their next sign-in.',
  off: 'Two-step verification is no longer required. People keep the methods they have.',
  settings: 'The settings were saved.',
  methods: 'The allowed methods were saved. People on a method no longer allowed set up another at their next sign-in.',
  grace: 'The enrolment grace period was saved.',
};

/** Renders Console → Security, for this router and for the routers of its other sections. */
export function createSecurityPage(deps: Omit<AdminSecurityDeps, 'organizations' | 'guards' | 'requireFreshAuth'>) {
  const render = createAccountRenderer(deps.views, deps.csrf);
  return async (ctx: Context, form: SecurityForm) => {
    const { org } = adminOf(ctx);
    await render(ctx, 'admin/security', 'Security', {
      nav: 'security',
      orgName: org.name,
      org,
      notice: typeof ctx.query.done === 'string' ? (NOTICES[ctx.query.done] ?? null) : null,
      maxAgeMinutes: Math.round(deps.maxAgeSeconds / 60),
      methodPolicy: deps.methodPolicy(org, form.values),
      countries: COUNTRY_OPTIONS,
      ...form,
    });
  };
}

/** Console → Security: the organization's TFA enforcement (with a confirmation step) and sign-in settings. */
export function adminSecurityRoutes(deps: AdminSecurityDeps): Router {
  const router = new Router({ prefix: '/admin/security' });
  const render = createAccountRenderer(deps.views, deps.csrf);
  const change = [formBody(), deps.csrf.verify, ...deps.guards, deps.requireFreshAuth];

  const page = createSecurityPage(deps);

  router.get('/', ...deps.guards, (ctx) => page(ctx, { errors: {}, values: {} }));

  // The confirmation step: what turning enforcement on or off does, before it is done.
  router.get('/enforcement', ...deps.guards, async (ctx) => {
    const { org } = adminOf(ctx);
    const parsed = enforcementForm.safeParse(ctx.query);
    if (!parsed.success) return void ctx.redirect('/admin/security');
    await render(ctx, 'admin/confirm-enforcement', 'Confirm', {
      nav: 'security',
      orgName: org.name,
      to: parsed.data.to,
      graceDays: org.tfaGraceDays,
    });
  });

  router.post('/enforcement', ...change, async (ctx) => {
    const { org, admin } = adminOf(ctx);
    const parsed = enforcementForm.safeParse(ctx.request.body);
    if (!parsed.success) throw httpErrors.raise('invalid_form');
    await deps.organizations.updatePolicy(
      org,
      { enforceTfa: parsed.data.to === 'on' },
      { userId: admin.user.id, ip: ctx.ip },
    );
    ctx.status = 303;
    ctx.redirect(`/admin/security?done=${parsed.data.to}`);
  });

  router.post('/settings', ...change, async (ctx) => {
    const { org, admin } = adminOf(ctx);
    const parsed = settingsForm.safeParse(ctx.request.body);
    const values = Object.fromEntries(
      Object.entries((ctx.request.body ?? {}) as Record<string, unknown>).filter(([, v]) => typeof v === 'string'),
    ) as Record<string, string>;
    if (!parsed.success) {
      ctx.status = 400;
      return page(ctx, {
        errors: Object.fromEntries(parsed.error.issues.map((i) => [String(i.path[0]), i.message])),
        values,
      });
    }
    try {
      await deps.organizations.updatePolicy(
        org,
        {
          trustedBrowserDays: Number(parsed.data.trustedBrowserDays),
          passwordMinLength: parsed.data.passwordMinLength === '' ? null : Number(parsed.data.passwordMinLength),
        },
        { userId: admin.user.id, ip: ctx.ip },
      );
    } catch (error) {
      if (!(error instanceof AppError) || Object.keys(error.fields).length === 0) throw error;
      ctx.status = error.status;
      return page(ctx, { errors: error.fields, values });
    }
    ctx.status = 303;
    ctx.redirect('/admin/security?done=settings');
  });

  return router;
}
