import Router from '@koa/router';
import type { Context, Middleware } from 'koa';
import { z } from 'zod';

import type { AccountSecurity } from '../../../domain/account-security.ts';
import type { Person } from '../../../factors/factor.ts';
import {
  ACCOUNT_STATES,
  TFA_STATUSES,
  type AccountState,
  type People,
  type PersonDetail,
  type TfaStatus,
} from '../../../domain/people.ts';
import type { TfaReset } from '../../../domain/tfa-reset.ts';
import type { Views } from '../../../ports/views.ts';
import { httpErrors } from '../../error-codes.ts';
import type { Csrf } from '../../middleware/csrf.ts';
import { formBody } from '../../middleware/form-body.ts';
import { createAccountRenderer } from '../account-context.ts';
import { EVENT_TEXT } from '../event-text.ts';
import { adminOf } from './admin-context.ts';
import type { PersonStatusSection } from './admin-person-status.ts';
import type { Organization } from '../../../ports/stores.ts';
import type { PersonSessionsView } from './person-sessions.ts';

export interface AdminPeopleDeps {
  people: People;
  tfaReset: TfaReset;
  security: Pick<AccountSecurity, 'disableTfa' | 'removeMethod'>;
  views: Views;
  csrf: Csrf;
  /** requireAccount, then requireAdmin. */
  guards: Middleware[];
  requireFreshAuth: Middleware;
  /** The person page's temporary access code section (admin-access-codes.ts). */
  accessCodeSection: (person: Person) => Promise<Record<string, unknown>>;
  /** The account section of a person's page: disabled or not, role, failed sign-in attempts. */
  statusSection(ctx: Context, org: Organization, detail: PersonDetail): Promise<PersonStatusSection>;
  /** The person's sessions and trusted browsers (views/admin/person-sessions.ejs). */
  personSessions(person: Person): Promise<PersonSessionsView>;
}

export const STATUS_TEXT: Record<TfaStatus, string> = {
  enforced: 'On (required by the organization)',
  own: 'On (their choice)',
  off: 'Off',
  not_enrolled: 'Required, not set up yet',
  grace: 'Required, in the grace period',
};

const listQuery = z.object({
  q: z.string().max(200).catch(''),
  status: z
    .enum(TFA_STATUSES as [TfaStatus, ...TfaStatus[]])
    .nullable()
    .catch(null)
    .default(null),
  page: z.coerce.number().int().min(1).max(10_000).catch(1),
  account: z
    .enum(ACCOUNT_STATES as [AccountState, ...AccountState[]])
    .nullable()
    .catch(null)
    .default(null),
});
const resetForm = z.object({ keepAppPasswords: z.literal('on').optional() });

const NOTICES: Record<string, string> = {
  reset:
    'Two-step verification was reset. Every session and token of this person has ended; they set it up again at their next sign-in.',
  off: 'Two-step verification is off for this person.',
  'method-removed': 'The method was removed. It no longer signs in as this person; they were told by email.',
  'access-code-revoked': 'The temporary access code was revoked. It no longer works.',
  'access-code-none': 'There was no temporary access code waiting.',
  'reset-link': 'A password reset link was emailed. It works once, for 30 minutes.',
  invited: 'The invitation was emailed. Its link works once, for 7 days.',
  'invitation-resent': 'The invitation was emailed again. Only the newest link works.',
  'invitation-cancelled': 'The invitation was cancelled.',
  disabled:
    'The account is disabled. Every session and token of this person has ended, and nothing signs in as them until the account is enabled again.',
  enabled: 'The account is enabled again. The person signs in with the password and methods they had.',
  role: 'The role was saved.',
  throttle: 'The failed sign-in attempts were cleared. The person can try again at once.',
  grace_extended: 'The deadline was changed. They see it at their next sign-in.',
  grace_ended: 'The grace period has ended. This person sets up two-step verification at their next sign-in.',
};

/** Console → People: the directory with TFA status, a person's page, reset and turning TFA off. */
export function adminPeopleRoutes(deps: AdminPeopleDeps): Router {
  const router = new Router({ prefix: '/admin/people' });
  const render = createAccountRenderer(deps.views, deps.csrf);
  const change = [formBody(), deps.csrf.verify, ...deps.guards, deps.requireFreshAuth];

  router.get('/', ...deps.guards, async (ctx) => {
    const { org } = adminOf(ctx);
    const query = listQuery.parse(ctx.query);
    const listed = await deps.people.list(org, {
      search: query.q,
      status: query.status,
      page: query.page,
      account: query.account,
    });
    await render(ctx, 'admin/people', 'People', {
      nav: 'people',
      orgName: org.name,
      q: query.q,
      status: query.status,
      statuses: TFA_STATUSES.map((value) => ({ value, text: STATUS_TEXT[value] })),
      accountState: query.account,
      ...listed,
      rows: listed.rows.map((row) => ({ ...row, tfaText: STATUS_TEXT[row.tfa] })),
      notice: typeof ctx.query.done === 'string' ? (NOTICES[ctx.query.done] ?? null) : null,
    });
  });

  const personPage = async (ctx: Context, notice: string | null) => {
    const { org, admin } = adminOf(ctx);
    const detail = await deps.people.describe(org, String(ctx.params.id));
    await render(ctx, 'admin/person', detail.name ?? detail.email, {
      nav: 'people',
      orgName: org.name,
      orgEnforces: org.enforceTfa,
      self: detail.id === admin.user.id,
      detail: {
        ...detail,
        tfaText: STATUS_TEXT[detail.tfa],
        events: detail.events.map((e) => ({ ...e, text: EVENT_TEXT[e.type] ?? e.type })),
      },
      notice,
      accessCode: await deps.accessCodeSection(detail.person),
      status: await deps.statusSection(ctx, org, detail),
      sessions: await deps.personSessions(detail.person),
    });
  };

  router.get('/:id', ...deps.guards, (ctx) =>
    personPage(ctx, typeof ctx.query.done === 'string' ? (NOTICES[ctx.query.done] ?? null) : null),
  );

  router.post('/:id/reset-tfa', ...change, async (ctx) => {
    const { org, admin } = adminOf(ctx);
    const parsed = resetForm.safeParse(ctx.request.body);
    if (!parsed.success) throw httpErrors.raise('invalid_form');
    const person = await deps.people.find(org, String(ctx.params.id));
    const keepAppPasswords = parsed.data.keepAppPasswords === 'on';
    // The person is emailed by the security notices (the tfa.reset event names the administrator).
    await deps.tfaReset.resetTfa(person, { actor: admin.user.email, ip: ctx.ip }, { keepAppPasswords });
    ctx.status = 303;
    ctx.redirect(`/admin/people/${person.userId}?done=reset`);
  });

  router.post('/:id/methods/:methodId/remove', ...change, async (ctx) => {
    const { org, admin } = adminOf(ctx);
    const person = await deps.people.find(org, String(ctx.params.id));
    const methodId = String(ctx.params.methodId).slice(0, 64);
    await deps.security.removeMethod(person, org, methodId, ctx.ip, admin.user.email);
    ctx.status = 303;
    ctx.redirect(`/admin/people/${person.userId}?done=method-removed`);
  });

  router.post('/:id/turn-off-tfa', ...change, async (ctx) => {
    const { org, admin } = adminOf(ctx);
    const person = await deps.people.find(org, String(ctx.params.id));
    // Refused with the reason (409) while the organization enforces TFA.
    await deps.security.disableTfa(person, org, ctx.ip, admin.user.email);
    ctx.status = 303;
    ctx.redirect(`/admin/people/${person.userId}?done=off`);
  });

  return router;
}
