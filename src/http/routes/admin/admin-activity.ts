import Router from '@koa/router';
import type { Context, Middleware } from 'koa';

import { ACTIVITY_KINDS, type Activity, type ExportFormat } from '../../../domain/activity.ts';
import type { Clock } from '../../../ports/clock.ts';
import type { AuditEntry } from '../../../ports/stores.ts';
import type { Views } from '../../../ports/views.ts';
import { httpErrors } from '../../error-codes.ts';
import type { Csrf } from '../../middleware/csrf.ts';
import { createAccountRenderer } from '../account-context.ts';
import { filterSearch, pageLinks, readCursor } from '../activity-paging.ts';
import { KIND_TEXT, type ActivityRow } from '../activity-rows.ts';
import { EXPORT_TYPES, exportStream } from './activity-export.ts';
import { readFilter, type FilterForm } from './activity-filter.ts';
import { adminOf } from './admin-context.ts';

export interface AdminActivityDeps {
  activity: Activity;
  toRow: (entry: AuditEntry) => ActivityRow;
  views: Views;
  csrf: Csrf;
  /** requireAccount, then requireAdmin. */
  guards: Middleware[];
  clock: Clock;
}

const FORMATS: readonly ExportFormat[] = ['csv', 'jsonl'];

/** Console → Activity: the organization's audit trail, filtered and paged, and its export (CSV, JSON Lines). */
export function adminActivityRoutes(deps: AdminActivityDeps): Router {
  const router = new Router({ prefix: '/admin/activity' });
  const render = createAccountRenderer(deps.views, deps.csrf);

  async function page(ctx: Context, form: FilterForm) {
    const { org } = adminOf(ctx);
    const failed = Object.keys(form.errors).length > 0;
    const cursor = readCursor(ctx.query);
    const found = failed ? null : await deps.activity.ofOrganization(org, form.filter, cursor);
    const params = form.values;
    if (failed) ctx.status = 400;
    await render(ctx, 'admin/activity', 'Activity', {
      nav: 'activity',
      orgName: org.name,
      full: true,
      values: form.values,
      errors: form.errors,
      kinds: ACTIVITY_KINDS.map((value) => ({ value, text: KIND_TEXT[value] })),
      dates: [
        { name: 'from', label: 'From (UTC)' },
        { name: 'to', label: 'To (UTC)' },
      ],
      rows: found ? found.entries.map(deps.toRow) : [],
      links: found ? pageLinks('/admin/activity', params, found, cursor) : null,
      exports: FORMATS.map((format) => ({
        format,
        href: `/admin/activity/export?${filterSearch(params, { format })}`,
      })),
      exportLimit: deps.activity.exportLimit.toLocaleString('en'),
    });
  }

  router.get('/', ...deps.guards, (ctx) => page(ctx, readFilter(ctx.query)));

  router.get('/export', ...deps.guards, async (ctx) => {
    const { org, admin } = adminOf(ctx);
    const format = FORMATS.find((f) => f === ctx.query.format);
    if (!format) throw httpErrors.raise('invalid_request', { message: 'Choose an export format: csv or jsonl.' });
    const form = readFilter(ctx.query);
    const problem = Object.values(form.errors)[0];
    if (problem) throw httpErrors.raise('invalid_request', { message: problem });
    const entries = await deps.activity.exportTrail(org, form.filter, { userId: admin.user.id, format });
    const day = new Date(deps.clock.now()).toISOString().slice(0, 10);
    ctx.set('cache-control', 'no-store');
    ctx.set('content-disposition', `attachment; filename="activity-${org.slug}-${day}.${format}"`);
    ctx.type = EXPORT_TYPES[format];
    ctx.body = exportStream(format, entries, deps.toRow);
  });

  return router;
}
