import Router from '@koa/router';
import type { Context, Middleware } from 'koa';
import { z } from 'zod';

import { AppError } from '../../../domain/errors.ts';
import type { Organizations, PolicyChanges } from '../../../domain/organizations.ts';
import type { FactorRegistry } from '../../../factors/registry.ts';
import { PHISHING_RESISTANT_POLICIES, type Organization } from '../../../ports/stores.ts';
import type { Csrf } from '../../middleware/csrf.ts';
import { formBody } from '../../middleware/form-body.ts';
import { adminOf } from './admin-context.ts';
import type { SecurityForm } from './admin-security.ts';

export interface AdminMethodsDeps {
  organizations: Pick<Organizations, 'updatePolicy'>;
  csrf: Csrf;
  guards: Middleware[];
  requireFreshAuth: Middleware;
  /** Console → Security again, with the messages next to the fields of a refused form. */
  showSecurityPage(ctx: Context, form: SecurityForm): Promise<void>;
}

/** A box ticked once arrives as a string, several as an array, none not at all. */
const ticked = z
  .union([z.string().max(40), z.array(z.string().max(40)).max(40)])
  .optional()
  .transform((value) => (value === undefined ? [] : [value].flat()));

const methodsForm = z.object({
  allowedMethods: ticked,
  phishingResistant: z.enum(PHISHING_RESISTANT_POLICIES, { message: 'Choose who must use them.' }),
});
const graceForm = z.object({
  tfaGraceDays: z
    .string()
    .trim()
    .regex(/^\d{1,3}$/, 'Use 0 to 90 days.'),
});

/**
 * The methods section of Console → Security, from the registry (never a kind named here): each
 * enrollable factor with whether it is allowed (as stored, or as just sent), who must use
 * phishing-resistant methods, and the enrolment grace period in days.
 */
export function methodPolicyView(registry: Pick<FactorRegistry, 'all'>) {
  return (org: Organization, values: Record<string, unknown>) => {
    const sent = values.section === 'methods';
    const allowed = sent ? ticked.catch([]).parse(values.allowedMethods) : org.allowedMethods;
    const factors = registry.all().filter((f) => f.enrolment !== undefined);
    return {
      methods: factors.map((f) => ({
        kind: f.kind,
        name: f.name,
        phishingResistant: f.phishingResistant,
        allowed: allowed === null || allowed.includes(f.kind),
      })),
      resistantNames: factors.filter((f) => f.phishingResistant).map((f) => f.name.toLowerCase()),
      phishingResistant:
        sent && typeof values.phishingResistant === 'string' ? values.phishingResistant : org.phishingResistant,
      graceDays: typeof values.tfaGraceDays === 'string' ? values.tfaGraceDays : String(org.tfaGraceDays),
    };
  };
}

/** A form read: the policy changes it asks for, or its refusals by field. */
type Read = { ok: true; changes: PolicyChanges } | { ok: false; errors: Record<string, string> };

const refused = (issues: z.core.$ZodIssue[]): Read => ({
  ok: false,
  errors: Object.fromEntries(issues.map((i) => [String(i.path[0]), i.message])),
});

/** Console → Security: which methods people may use, phishing-resistant methods, and the enrolment grace period. */
export function adminMethodRoutes(deps: AdminMethodsDeps): Router {
  const router = new Router({ prefix: '/admin/security' });
  const change = [formBody(), deps.csrf.verify, ...deps.guards, deps.requireFreshAuth];

  /** Saves and says so, or shows the page again with each refusal next to its field (nothing is saved then). */
  async function save(ctx: Context, read: Read, values: Record<string, unknown>, done: string) {
    const { org, admin } = adminOf(ctx);
    let errors = read.ok ? null : read.errors;
    if (read.ok) {
      try {
        await deps.organizations.updatePolicy(org, read.changes, { userId: admin.user.id, ip: ctx.ip });
      } catch (error) {
        if (!(error instanceof AppError) || Object.keys(error.fields).length === 0) throw error;
        errors = error.fields;
      }
    }
    if (errors) {
      ctx.status = 400;
      return deps.showSecurityPage(ctx, { errors, values });
    }
    ctx.status = 303;
    ctx.redirect(`/admin/security?done=${done}`);
  }

  router.post('/methods', ...change, async (ctx) => {
    const body = (ctx.request.body ?? {}) as Record<string, unknown>;
    const parsed = methodsForm.safeParse(body);
    const read: Read = parsed.success ? { ok: true, changes: parsed.data } : refused(parsed.error.issues);
    // The boxes are shown again as they were sent, none ticked included.
    await save(ctx, read, { ...body, section: 'methods' }, 'methods');
  });

  router.post('/grace', ...change, async (ctx) => {
    const body = (ctx.request.body ?? {}) as Record<string, unknown>;
    const parsed = graceForm.safeParse(body);
    const read: Read = parsed.success
      ? { ok: true, changes: { tfaGraceDays: Number(parsed.data.tfaGraceDays) } }
      : refused(parsed.error.issues);
    await save(ctx, read, body, 'grace');
  });

  return router;
}
