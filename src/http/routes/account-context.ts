import type { Context } from 'koa';

import type { AccountSession } from '../../domain/account-sessions.ts';
import { assertThat } from '../../domain/errors.ts';
import { httpErrors } from '../error-codes.ts';
import { personOf } from '../../domain/sign-in-flow.ts';
import type { Person } from '../../factors/factor.ts';
import type { Accounts } from '../../domain/accounts.ts';
import type { UserWithOrganization } from '../../ports/stores.ts';
import type { Csrf } from '../middleware/csrf.ts';
import type { Views } from '../../ports/views.ts';
import { brandFor } from './brand.ts';
import { CANCELLED_NOTICE, CANCELLED_QUERY } from './account-sign-in-cancel.ts';

export interface AccountContext {
  account: AccountSession;
  found: UserWithOrganization;
  person: Person;
}

/**
 * The signed-in person of an account page (after requireAccount, which has read them already),
 * still in their organization.
 */
export async function loadAccountContext(
  ctx: Context,
  accounts: Pick<Accounts, 'findAccount'>,
): Promise<AccountContext> {
  const account = ctx.state.account as AccountSession;
  const found =
    (ctx.state.accountFound as UserWithOrganization | undefined) ??
    (await accounts.findAccount(account.orgId, account.userId));
  assertThat(found, () => httpErrors.raise('account_gone'));
  return { account, found, person: personOf(found) };
}

/** Renders an account page: the wide layout, the organization's header, no caching, this browser's CSRF token. */
export function createAccountRenderer(views: Views, csrf: Csrf) {
  return async (ctx: Context, view: string, title: string, model: Record<string, unknown>) => {
    const found = ctx.state.accountFound as UserWithOrganization | undefined;
    ctx.type = 'html';
    ctx.set('cache-control', 'no-store');
    ctx.body = await views.render(view, {
      title,
      wide: true,
      csrfToken: csrf.tokenFor(ctx),
      flash: ctx.querystring === CANCELLED_QUERY ? CANCELLED_NOTICE : null,
      ...(found ? { brand: brandFor(ctx, found.organization) } : {}),
      ...model,
    });
  };
}
