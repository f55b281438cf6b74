import Router from '@koa/router';
import type { Context, Middleware } from 'koa';
import { z } from 'zod';

import { AppError } from '../../../domain/errors.ts';
import type { Organizations, PolicyChanges } from '../../../domain/organizations.ts';
import { formBody } from '../../middleware/form-body.ts';
import { adminOf } from './admin-context.ts';
import { createSecurityPage, type AdminSecurityDeps } from './admin-security.ts';

export interface AdminSessionPolicyDeps extends Omit<AdminSecurityDeps, 'organizations'> {
  organizations: Pick<Organizations, 'updatePolicy'>;
}

type FieldMap = Record<string, string>;

/**
 * The form's field names, by policy setting. A name that looks like a secret ("pass…") would be
 * dropped rather than kept across a step-up (requireFreshAuth), so password expiry goes by another.
 */
const FIELDS: Record<string, string> = { passwordMaxAgeDays: 'expiresAfterDays' };
const fieldOf = (setting: string) => FIELDS[setting] ?? setting;

const sessionsForm = z.object({
  sessionMaxHours: z.string().regex(/^\d{1,4}$/, 'Use 1 to 720 hours (30 days).'),
  sessionIdleMinutes: z.string().regex(/^\d{1,5}$/, 'Use a number of minutes, at least 5.'),
  expiresAfterDays: z
    .string()
    .regex(/^(\d{1,5})?$/, 'Use 30 to 3650 days, or leave it empty so that passwords never expire.'),
});
const logoForm = z.object({ logoUrl: z.string().max(4096, 'Use an address of at most 2048 characters.') });

const phoneForm = z.object({ defaultCountry: z.string().max(64, 'Choose a country from the list.') });

const toSessionPolicy = (form: z.output<typeof sessionsForm>): PolicyChanges => ({
  sessionMaxHours: Number(form.sessionMaxHours),
  sessionIdleMinutes: Number(form.sessionIdleMinutes),
  passwordMaxAgeDays: form.expiresAfterDays === '' ? null : Number(form.expiresAfterDays),
});

const toLogoPolicy = (form: z.output<typeof logoForm>): PolicyChanges => ({
  logoUrl: form.logoUrl.trim() === '' ? null : form.logoUrl,
});

const toPhonePolicy = (form: z.output<typeof phoneForm>): PolicyChanges => ({
  defaultCountry: form.defaultCountry.trim() === '' ? null : form.defaultCountry,
});

/**
 * Console → Security, sessions and branding: how long sign-in sessions last (NIST SP 800-63B
 * §4.2.3), whether passwords expire, the logo in page headers, and the country phone numbers are
 * read in unless people pick another. Every change needs a recent
 * sign-in (requireFreshAuth), as the rest of the page does.
 */
export function adminSessionPolicyRoutes(deps: AdminSessionPolicyDeps): Router {
  const router = new Router({ prefix: '/admin/security' });
  const page = createSecurityPage(deps);
  const change = [formBody(), deps.csrf.verify, ...deps.guards, deps.requireFreshAuth];

  /** Parses the form, saves it as policy, and answers with the page (errors by the fields) or a redirect. */
  function save<T>(schema: z.ZodType<T>, toPolicy: (form: T) => PolicyChanges): Middleware {
    return async (ctx: Context) => {
      const body = (ctx.request.body ?? {}) as Record<string, unknown>;
      const values = Object.fromEntries(Object.entries(body).filter(([, v]) => typeof v === 'string')) as FieldMap;
      const parsed = schema.safeParse(body);
      if (!parsed.success) {
        ctx.status = 400;
        return page(ctx, {
          errors: Object.fromEntries(parsed.error.issues.map((i) => [String(i.path[0]), i.message])),
          values,
        });
      }
      const { org, admin } = adminOf(ctx);
      try {
        await deps.organizations.updatePolicy(org, toPolicy(parsed.data), { userId: admin.user.id, ip: ctx.ip });
      } catch (error) {
        if (!(error instanceof AppError) || Object.keys(error.fields).length === 0) throw error;
        ctx.status = error.status;
        const errors = Object.fromEntries(Object.entries(error.fields).map(([k, v]) => [fieldOf(k), v]));
        return page(ctx, { errors, values });
      }
      ctx.status = 303;
      ctx.redirect('/admin/security?done=settings');
    };
  }

  router.post('/sessions', ...change, save(sessionsForm, toSessionPolicy));
  router.post('/logo', ...change, save(logoForm, toLogoPolicy));
  router.post('/phone-numbers', ...change, save(phoneForm, toPhonePolicy));
  return router;
}
