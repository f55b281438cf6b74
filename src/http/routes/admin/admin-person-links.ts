import Router from '@koa/router';
import type { Context, Middleware } from 'koa';
import { z } from 'zod';

import { AppError } from '../../../domain/errors.ts';
import type { Invitations } from '../../../domain/invitations.ts';
import { INVITATION_DAYS } from '../../../domain/invitations.ts';
import type { PasswordResets } from '../../../domain/password-resets.ts';
import type { Views } from '../../../ports/views.ts';
import type { Csrf } from '../../middleware/csrf.ts';
import { formBody } from '../../middleware/form-body.ts';
import { createAccountRenderer } from '../account-context.ts';
import { fieldErrors } from '../field-errors.ts';
import { adminOf } from './admin-context.ts';

export interface AdminPersonLinkDeps {
  resets: Pick<PasswordResets, 'send'>;
  invitations: Pick<Invitations, 'invite' | 'resend' | 'cancel'>;
  views: Views;
  csrf: Csrf;
  /** requireAccount, then requireAdmin. */
  guards: Middleware[];
  requireFreshAuth: Middleware;
}

const inviteForm = z.object({
  email: z.string().max(400, 'That email address is too long.').default(''),
  name: z.string().max(400, 'Use at most 200 characters.').default(''),
  role: z.enum(['member', 'admin'], 'Choose member or administrator.').default('member'),
});

type InviteValues = { email: string; name: string; role: string };

/**
 * Console → People: invitations (invite, send again, cancel) and "Send password reset link". Every
 * change needs a fresh sign-in, and names a person only inside the administrator's organization.
 */
export function adminPersonLinkRoutes(deps: AdminPersonLinkDeps): Router {
  const router = new Router({ prefix: '/admin' });
  const render = createAccountRenderer(deps.views, deps.csrf);
  const change = [formBody(), deps.csrf.verify, ...deps.guards, deps.requireFreshAuth];

  const invitePage = async (ctx: Context, values: InviteValues, errors: Record<string, string>) => {
    const { org } = adminOf(ctx);
    await render(ctx, 'admin/invite', 'Invite people', {
      nav: 'people',
      orgName: org.name,
      orgEnforces: org.enforceTfa,
      days: INVITATION_DAYS,
      values,
      errors,
    });
  };
  const done = (ctx: Context, target: string) => {
    ctx.status = 303;
    ctx.redirect(target);
  };

  router.get('/invitations', ...deps.guards, (ctx) => invitePage(ctx, { email: '', name: '', role: 'member' }, {}));

  router.post('/invitations', ...change, async (ctx) => {
    const { org, admin } = adminOf(ctx);
    const body = ctx.request.body as Record<string, unknown>;
    const text = (key: string) => (typeof body[key] === 'string' ? String(body[key]).slice(0, 400) : '');
    const values = { email: text('email'), name: text('name'), role: text('role') || 'member' };
    const parsed = inviteForm.safeParse(body);
    if (!parsed.success) {
      ctx.status = 400;
      return invitePage(ctx, values, fieldErrors(parsed.error));
    }
    try {
      const user = await deps.invitations.invite(
        org,
        { ...parsed.data, name: parsed.data.name || null },
        admin.user.email,
      );
      done(ctx, `/admin/people/${user.id}?done=invited`);
    } catch (error) {
      if (!(error instanceof AppError) || error.status >= 500 || Object.keys(error.fields).length === 0) throw error;
      ctx.status = error.status;
      await invitePage(ctx, values, error.fields);
    }
  });

  router.post('/people/:id/send-reset-link', ...change, async (ctx) => {
    const { org, admin } = adminOf(ctx);
    const account = await deps.resets.send(org, String(ctx.params.id), admin.user.email);
    done(ctx, `/admin/people/${account.user.id}?done=reset-link`);
  });

  router.post('/people/:id/resend-invitation', ...change, async (ctx) => {
    const { org, admin } = adminOf(ctx);
    const user = await deps.invitations.resend(org, String(ctx.params.id), admin.user.email);
    done(ctx, `/admin/people/${user.id}?done=invitation-resent`);
  });

  router.post('/people/:id/cancel-invitation', ...change, async (ctx) => {
    const { org, admin } = adminOf(ctx);
    await deps.invitations.cancel(org, String(ctx.params.id), admin.user.email);
    done(ctx, '/admin/people?done=invitation-cancelled');
  });

  return router;
}
