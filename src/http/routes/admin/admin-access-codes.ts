import Router from '@koa/router';
import type { Context, Middleware } from 'koa';
import { z } from 'zod';

import { ACCESS_CODE_MINUTES, type AccessCodes } from '../../../domain/access-codes.ts';
import type { AccountSession } from '../../../domain/account-sessions.ts';
import type { People } from '../../../domain/people.ts';
import type { Person } from '../../../factors/factor.ts';
import type { EphemeralStore } from '../../../ports/ephemeral-store.ts';
import type { Views } from '../../../ports/views.ts';
import { httpErrors } from '../../error-codes.ts';
import type { Csrf } from '../../middleware/csrf.ts';
import { formBody } from '../../middleware/form-body.ts';
import { createAccountRenderer } from '../account-context.ts';
import { adminOf } from './admin-context.ts';

export interface AdminAccessCodeDeps {
  people: People;
  accessCodes: AccessCodes;
  ephemeral: EphemeralStore;
  views: Views;
  csrf: Csrf;
  /** requireAccount, then requireAdmin. */
  guards: Middleware[];
  requireFreshAuth: Middleware;
}

/** The lifetimes the console offers, within ACCESS_CODE_MINUTES. */
const LIFETIMES = [
  { minutes: 15, text: '15 minutes' },
  { minutes: 30, text: '30 minutes' },
  { minutes: 60, text: '1 hour' },
  { minutes: 240, text: '4 hours' },
  { minutes: 480, text: '8 hours' },
  { minutes: 1440, text: '24 hours' },
];

// The field is not named like a secret, so a step-up keeps the form and finishes it (account-auth.ts).
const issueForm = z.object({ lifetime: z.coerce.number().int() });

/** The new code waits for the issuing administrator's session alone, briefly, and is shown once. */
const SHOWN_TTL_SECONDS = 120;
interface ShownCode {
  userId: string;
  code: string;
  expiresAt: number;
}
const shownKey = (ctx: Context) => `show-access-code:${(ctx.state.account as AccountSession).id}`;

/** The person page's section: whether a code waits (never the code) and the lifetimes to choose from. */
export function createAccessCodeSection(codes: Pick<AccessCodes, 'live'>) {
  return async (person: Person) => ({
    live: await codes.live(person),
    lifetimes: LIFETIMES.map((l) => ({ ...l, selected: l.minutes === ACCESS_CODE_MINUTES.standard })),
  });
}

/** Console → a person → temporary access code: issue (shown once), see it once, revoke; all behind step-up. */
export function adminAccessCodeRoutes(deps: AdminAccessCodeDeps): Router {
  const router = new Router({ prefix: '/admin/people/:id/access-code' });
  const render = createAccountRenderer(deps.views, deps.csrf);
  const change = [formBody(), deps.csrf.verify, ...deps.guards, deps.requireFreshAuth];

  router.post('/', ...change, async (ctx) => {
    const { org, admin } = adminOf(ctx);
    const person = await deps.people.find(org, String(ctx.params.id));
    const parsed = issueForm.safeParse(ctx.request.body);
    if (!parsed.success) throw httpErrors.raise('invalid_form');
    const actor = admin.user.email;
    const issued = await deps.accessCodes.issue(person, { minutes: parsed.data.lifetime, actor });
    const shown: ShownCode = { userId: person.userId, ...issued };
    await deps.ephemeral.put(shownKey(ctx), shown, SHOWN_TTL_SECONDS);
    ctx.status = 303;
    ctx.redirect(`/admin/people/${person.userId}/access-code`);
  });

  router.get('/', ...deps.guards, async (ctx) => {
    const { org } = adminOf(ctx);
    const detail = await deps.people.describe(org, String(ctx.params.id));
    // Shown once: taken from the store, so a reload (or another person's page) cannot show it again.
    const waiting = await deps.ephemeral.get<ShownCode>(shownKey(ctx));
    const shown = waiting?.userId === detail.id ? await deps.ephemeral.take<ShownCode>(shownKey(ctx)) : undefined;
    await render(ctx, 'admin/access-code', 'Temporary access code', {
      nav: 'people',
      orgName: org.name,
      person: { id: detail.id, name: detail.name ?? detail.email, email: detail.email },
      shown: shown ?? null,
    });
  });

  router.post('/revoke', ...change, async (ctx) => {
    const { org, admin } = adminOf(ctx);
    const person = await deps.people.find(org, String(ctx.params.id));
    const revoked = await deps.accessCodes.revoke(person, admin.user.email);
    ctx.status = 303;
    ctx.redirect(`/admin/people/${person.userId}?done=${revoked ? 'access-code-revoked' : 'access-code-none'}`);
  });

  return router;
}
