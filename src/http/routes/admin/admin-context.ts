import Router from '@koa/router';
import type { Context, Middleware } from 'koa';

import type { Accounts } from '../../../domain/accounts.ts';
import type { Person } from '../../../factors/factor.ts';
import type { Organization, UserWithOrganization } from '../../../ports/stores.ts';
import { httpErrors } from '../../error-codes.ts';
import { loadAccountContext } from '../account-context.ts';

/** The signed-in administrator and their organization: the only one their console can touch. */
export interface AdminContext {
  admin: UserWithOrganization;
  adminPerson: Person;
  org: Organization;
}

/**
 * After requireAccount: members get a 403 page; administrators act only inside their own
 * organization (every lookup below takes `org`, so another organization's people are not found).
 */
export function requireAdmin(accounts: Pick<Accounts, 'findAccount'>): Middleware {
  return async (ctx, next) => {
    const { found, person } = await loadAccountContext(ctx, accounts);
    if (found.user.role !== 'admin') throw httpErrors.raise('not_admin');
    ctx.state.admin = { admin: found, adminPerson: person, org: found.organization } satisfies AdminContext;
    await next();
  };
}

export const adminOf = (ctx: Context): AdminContext => ctx.state.admin as AdminContext;

/** /admin opens the console on its people. */
export function adminHomeRoutes(guards: Middleware[]): Router {
  const router = new Router();
  router.get('/admin', ...guards, (ctx) => {
    ctx.status = 303;
    ctx.redirect('/admin/people');
  });
  return router;
}
