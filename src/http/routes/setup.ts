import Router from '@koa/router';
import type { Context } from 'koa';
import { z } from 'zod';

import { AppError } from '../../domain/errors.ts';
import { setupLinkInvalid, type Setup } from '../../domain/setup.ts';
import type { Csrf } from '../middleware/csrf.ts';
import { formBody } from '../middleware/form-body.ts';
import type { Views } from '../../ports/views.ts';
import { httpErrors } from '../error-codes.ts';

const field = (max: number) => z.string().max(max, 'That is too long.').default('');
const setupForm = z.object({
  token: z.string().max(64).default(''),
  organizationName: field(200),
  slug: field(63),
  name: field(200),
  email: field(254),
  password: field(4096),
});

const FIELDS = ['organizationName', 'slug', 'name', 'email', 'password'] as const;

/** First run: the one-time link creates the first organization and its administrator. */
export function setupRoutes(deps: { setup: Setup; views: Views; csrf: Csrf; issuer: string }): Router {
  const { setup, views, csrf } = deps;
  const router = new Router();

  async function renderForm(
    ctx: Context,
    token: string,
    values: Record<string, string>,
    errors: Record<string, string>,
  ) {
    ctx.type = 'html';
    ctx.set('cache-control', 'no-store');
    ctx.body = await views.render('setup/form', {
      title: 'Set up Twofold',
      token,
      values,
      errors,
      csrfToken: csrf.tokenFor(ctx),
    });
  }

  /** A used or expired link: once an organization exists a new link is refused, so say what else to do. */
  async function renderDeadLink(ctx: Context) {
    ctx.status = setupLinkInvalid().status;
    ctx.type = 'html';
    ctx.set('cache-control', 'no-store');
    ctx.body = await views.render('setup/used', { title: 'This setup link cannot be used' });
  }

  router.get('/setup', async (ctx) => {
    const token = typeof ctx.query.token === 'string' ? ctx.query.token : '';
    if (!(await setup.isLive(token))) return renderDeadLink(ctx);
    await renderForm(ctx, token, {}, {});
  });

  router.post('/setup', formBody(), csrf.verify, async (ctx) => {
    const parsed = setupForm.safeParse(ctx.request.body);
    if (!parsed.success) throw httpErrors.raise('invalid_form');
    const form = parsed.data;
    const values = { organizationName: form.organizationName, slug: form.slug, name: form.name, email: form.email };
    try {
      await setup.complete(form.token, { ...form });
    } catch (error) {
      if (error instanceof AppError && error.code === 'setup_link_invalid') return renderDeadLink(ctx);
      if (error instanceof AppError && error.status === 400) {
        ctx.status = 400;
        const errors = Object.fromEntries(FIELDS.flatMap((f) => (error.fields[f] ? [[f, error.fields[f]]] : [])));
        return renderForm(ctx, form.token, values, errors);
      }
      throw error;
    }
    ctx.type = 'html';
    ctx.body = await views.render('setup/done', {
      title: 'Twofold is ready',
      organizationName: form.organizationName,
      email: form.email,
      issuer: deps.issuer,
    });
  });

  return router;
}
