import Router from '@koa/router';
import type { Middleware } from 'koa';

import type { Accounts } from '../../domain/accounts.ts';
import type { Activity } from '../../domain/activity.ts';
import type { AuditEntry } from '../../ports/stores.ts';
import type { Views } from '../../ports/views.ts';
import type { Csrf } from '../middleware/csrf.ts';
import { createAccountRenderer, loadAccountContext } from './account-context.ts';
import { pageLinks, readCursor } from './activity-paging.ts';
import type { ActivityRow } from './activity-rows.ts';

export interface AccountActivityDeps {
  accounts: Pick<Accounts, 'findAccount'>;
  activity: Pick<Activity, 'ofPerson'>;
  toRow: (entry: AuditEntry) => ActivityRow;
  views: Views;
  csrf: Csrf;
  requireAccount: Middleware;
}

/** My Account → Activity: the person's own security events, newest first, paged. */
export function accountActivityRoutes(deps: AccountActivityDeps): Router {
  const router = new Router({ prefix: '/account' });
  const render = createAccountRenderer(deps.views, deps.csrf);

  router.get('/activity', deps.requireAccount, async (ctx) => {
    const { person } = await loadAccountContext(ctx, deps.accounts);
    const cursor = readCursor(ctx.query);
    const found = await deps.activity.ofPerson(person, cursor);
    await render(ctx, 'account/activity', 'Your activity', {
      nav: 'activity',
      rows: found.entries.map(deps.toRow),
      links: pageLinks('/account/activity', {}, found, cursor),
    });
  });

  return router;
}
