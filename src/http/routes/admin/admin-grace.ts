import Router from '@koa/router';
import type { Context, Middleware } from 'koa';
import { z } from 'zod';

import type { EnrolmentGrace } from '../../../domain/enrolment-grace.ts';
import { AppError } from '../../../domain/errors.ts';
import type { People } from '../../../domain/people.ts';
import type { Views } from '../../../ports/views.ts';
import { httpErrors } from '../../error-codes.ts';
import type { Csrf } from '../../middleware/csrf.ts';
import { formBody } from '../../middleware/form-body.ts';
import { createAccountRenderer } from '../account-context.ts';
import { adminOf } from './admin-context.ts';

export interface AdminGraceDeps {
  grace: EnrolmentGrace;
  people: Pick<People, 'find'>;
  views: Views;
  csrf: Csrf;
  /** requireAccount, then requireAdmin. */
  guards: Middleware[];
  requireFreshAuth: Middleware;
}

const deadlineForm = z.object({ until: z.string().max(20) });

/**
 * A person's enrolment deadline, from their page in the console: moved to a date (90 days ahead
 * at most) or ended now, behind a fresh sign-in like every change. Another organization's person
 * is not found (404); members never get here (403).
 */
export function adminGraceRoutes(deps: AdminGraceDeps): Router {
  const router = new Router({ prefix: '/admin/people/:id/grace' });
  const render = createAccountRenderer(deps.views, deps.csrf);
  const change = [formBody(), deps.csrf.verify, ...deps.guards, deps.requireFreshAuth];
  const by = (ctx: Context) => ({ actor: adminOf(ctx).admin.user.email, ip: ctx.ip });
  const done = (ctx: Context, what: string) => {
    ctx.status = 303;
    ctx.redirect(`/admin/people/${String(ctx.params.id)}?done=${what}`);
  };

  router.post('/extend', ...change, async (ctx) => {
    const { org } = adminOf(ctx);
    const parsed = deadlineForm.safeParse(ctx.request.body);
    if (!parsed.success) throw httpErrors.raise('invalid_form');
    try {
      await deps.grace.extend(org, String(ctx.params.id), parsed.data.until, by(ctx));
    } catch (error) {
      if (!(error instanceof AppError) || Object.keys(error.fields).length === 0) throw error;
      // The date is refused: the form again, with the message next to it.
      const person = await deps.people.find(org, String(ctx.params.id));
      ctx.status = error.status;
      return render(ctx, 'admin/grace-deadline', 'Deadline to set up two-step verification', {
        nav: 'people',
        orgName: org.name,
        id: person.userId,
        email: person.email,
        errors: error.fields,
        values: { until: parsed.data.until },
      });
    }
    done(ctx, 'grace_extended');
  });

  router.post('/end', ...change, async (ctx) => {
    await deps.grace.end(adminOf(ctx).org, String(ctx.params.id), by(ctx));
    done(ctx, 'grace_ended');
  });

  return router;
}
