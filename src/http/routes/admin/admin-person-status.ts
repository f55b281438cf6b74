import Router from '@koa/router';
import type { Context, Middleware } from 'koa';
import { z } from 'zod';

import { roleSchema } from '../../../domain/accounts.ts';
import { minutesText, secondsText } from '../../../domain/duration-text.ts';
import { AppError } from '../../../domain/errors.ts';
import type { People, PersonDetail } from '../../../domain/people.ts';
import type { AdminActor, PersonStatus } from '../../../domain/person-status.ts';
import type { SignInThrottles, StepThrottle, ThrottledStep } from '../../../domain/sign-in-throttles.ts';
import type { Person } from '../../../factors/factor.ts';
import type { Organization } from '../../../ports/stores.ts';
import { httpErrors } from '../../error-codes.ts';
import type { Csrf } from '../../middleware/csrf.ts';
import { formBody } from '../../middleware/form-body.ts';
import { adminOf } from './admin-context.ts';

export interface AdminPersonStatusDeps {
  people: Pick<People, 'find'>;
  personStatus: PersonStatus;
  throttles: SignInThrottles;
  csrf: Csrf;
  /** requireAccount, then requireAdmin. */
  guards: Middleware[];
  requireFreshAuth: Middleware;
}

const roleForm = z.object({ role: roleSchema });

/** The refusals a change can meet, as `?refused=` on the person's page after it. */
const REFUSALS = ['last_admin-disable', 'last_admin-role', 'self_lockout-disable', 'self_lockout-role'] as const;
type Refusal = (typeof REFUSALS)[number];

const STEP_TEXT: Record<ThrottledStep, string> = {
  password: 'Password',
  second_factor: 'Two-step codes',
  app_password: 'Mail and calendar apps',
};

/**
 * Console → a person's account: disable or enable them, change their role, clear the failed
 * attempts that slow their sign-in. Every change needs a fresh sign-in; another organization's
 * person is not found (404) and nothing changes.
 */
export function adminPersonStatusRoutes(deps: AdminPersonStatusDeps): Router {
  const router = new Router({ prefix: '/admin/people/:id' });
  const change = [formBody(), deps.csrf.verify, ...deps.guards, deps.requireFreshAuth];

  type Run = (ctx: Context, org: Organization, person: Person, by: AdminActor) => Promise<unknown>;
  /** One change to a person of the administrator's organization; a refusal comes back to their page with its reason. */
  const act =
    (action: 'disable' | 'role' | null, done: string, run: Run): Middleware =>
    async (ctx) => {
      const { org, admin } = adminOf(ctx);
      const person = await deps.people.find(org, String(ctx.params.id));
      const by: AdminActor = { actor: admin.user.email, userId: admin.user.id, ip: ctx.ip };
      ctx.status = 303;
      try {
        await run(ctx, org, person, by);
      } catch (error) {
        const refusal = error instanceof AppError ? `${error.code}-${action}` : '';
        if (!(REFUSALS as readonly string[]).includes(refusal)) throw error;
        return ctx.redirect(`/admin/people/${person.userId}?refused=${refusal}`);
      }
      ctx.redirect(`/admin/people/${person.userId}?done=${done}`);
    };

  router.post(
    '/disable',
    ...change,
    act('disable', 'disabled', (_ctx, org, person, by) => deps.personStatus.disable(org, person, by)),
  );
  router.post(
    '/enable',
    ...change,
    act(null, 'enabled', (_ctx, org, person, by) => deps.personStatus.enable(org, person, by)),
  );
  router.post(
    '/role',
    ...change,
    act('role', 'role', (ctx, org, person, by) => {
      const parsed = roleForm.safeParse(ctx.request.body);
      if (!parsed.success) throw httpErrors.raise('invalid_form');
      return deps.personStatus.changeRole(org, person, parsed.data.role, by);
    }),
  );
  router.post(
    '/clear-throttle',
    ...change,
    act(null, 'throttle', (_ctx, _org, person, by) => deps.throttles.clear(person, by)),
  );
  return router;
}

/** What the person page's account section shows: status, role, failed attempts, and a refusal's reason. */
export interface PersonStatusSection {
  disabled: boolean;
  disabledAt: number | null;
  isAdmin: boolean;
  /** The administrator looking at their own page: they cannot disable or demote themselves here. */
  self: boolean;
  /** The only administrator of the organization who can sign in: they cannot be disabled or demoted. */
  lastAdmin: boolean;
  attempts: { text: string }[];
  slowed: boolean;
  refusal: string | null;
}

function attemptText({ step, state }: StepThrottle): string {
  const count = `${STEP_TEXT[step]}: ${state.failures} failed attempt${state.failures === 1 ? '' : 's'}`;
  const wait = !state.slowed
    ? 'not slowed down yet'
    : state.retryAfterSeconds === 0
      ? 'each further failure makes the wait longer'
      : `the next try must wait ${secondsText(state.retryAfterSeconds)}`;
  return `${count}; ${wait}. Forgotten in ${minutesText(state.lapsesInSeconds)} without further failures.`;
}

function refusalText(refusal: Refusal, detail: PersonDetail, org: Organization): string {
  const who = detail.name ?? detail.email;
  const last = `${who} is the only administrator of ${org.name} who can sign in. Make someone else an administrator first.`;
  const texts: Record<Refusal, string> = {
    'last_admin-disable': `Not disabled: ${last}`,
    'last_admin-role': `The role was not changed: ${last}`,
    'self_lockout-disable': 'You cannot disable your own account. Another administrator can.',
    'self_lockout-role': 'You cannot remove your own administrator role. Another administrator can.',
  };
  return texts[refusal];
}

/** Builds the account section of a person's page (views/admin/person-status.ejs). */
export function createPersonStatusSection(deps: { personStatus: PersonStatus; throttles: SignInThrottles }) {
  return async (ctx: Context, org: Organization, detail: PersonDetail): Promise<PersonStatusSection> => {
    const { admin } = adminOf(ctx);
    const [throttled, admins] = await Promise.all([
      deps.throttles.stateOf(detail.person),
      deps.personStatus.countEnabledAdmins(org),
    ]);
    const disabled = detail.disabledAt !== null;
    const refused = REFUSALS.find((r) => r === ctx.query.refused);
    return {
      disabled,
      disabledAt: detail.disabledAt,
      isAdmin: detail.role === 'admin',
      self: detail.id === admin.user.id,
      lastAdmin: detail.role === 'admin' && !disabled && admins <= 1,
      attempts: throttled.map((t) => ({ text: attemptText(t) })),
      slowed: throttled.some((t) => t.state.slowed),
      refusal: refused ? refusalText(refused, detail, org) : null,
    };
  };
}
