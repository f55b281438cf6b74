import Router from '@koa/router';
import type { Context } from 'koa';
import { z } from 'zod';

import type { Accounts } from '../../domain/accounts.ts';
import { AppError } from '../../domain/errors.ts';
import type { Invitations } from '../../domain/invitations.ts';
import type { LiveLink } from '../../domain/person-links.ts';
import type { Clock } from '../../ports/clock.ts';
import type { Views } from '../../ports/views.ts';
import type { Csrf } from '../middleware/csrf.ts';
import { formBody } from '../middleware/form-body.ts';
import { fieldErrors } from './field-errors.ts';
import type { LinkState, LinkStates } from './link-state.ts';
import { lengthCheck } from '../password-length-check.ts';

/** One browser's use of an invitation link; `accepted` once the password is chosen. */
export interface InvitationState extends LinkState {
  accepted: { orgName: string; email: string } | null;
}

export interface InvitationDeps {
  invitations: Invitations;
  states: LinkStates<InvitationState>;
  accounts: Pick<Accounts, 'passwordRulesFor'>;
  views: Views;
  csrf: Csrf;
  clock: Clock;
  maxPasswordLength: number;
}

const acceptForm = (max: number) =>
  z.object({
    name: z.string().max(400, 'Use at most 200 characters.').default(''),
    password: z
      .string()
      .max(max * 4, 'That password is too long.')
      .default(''),
  });

/**
 * An invited person's link: moved out of the URL at once, then a page to confirm their name and
 * choose their password under the organization's rules. They sign in afterwards like anyone else
 * (and set up two-step verification then, where the organization requires it).
 */
export function invitationRoutes(deps: InvitationDeps): Router {
  const { views, csrf, states } = deps;
  const router = new Router({ prefix: '/invitation' });
  const schema = acceptForm(deps.maxPasswordLength);

  const page = async (ctx: Context, view: string, title: string, model: Record<string, unknown> = {}) => {
    ctx.type = 'html';
    ctx.set('cache-control', 'no-store');
    ctx.body = await views.render(view, { title, csrfToken: csrf.tokenFor(ctx), ...model });
  };
  const invalidPage = (ctx: Context) => {
    ctx.status = 410;
    return page(ctx, 'invitation/invalid', 'This invitation cannot be used');
  };
  const formPage = (ctx: Context, { account }: LiveLink, name: string, errors: Record<string, string>) =>
    page(ctx, 'invitation/accept', `Join ${account.organization.name}`, {
      orgName: account.organization.name,
      email: account.user.email,
      name,
      ...lengthCheck(deps.accounts.passwordRulesFor(account.organization).minLength),
      enforced: account.organization.enforceTfa,
      errors,
    });

  async function linkInUse(ctx: Context) {
    const loaded = await states.load(ctx);
    const link = loaded && !loaded.state.accepted ? await deps.invitations.find(loaded.state.tokenHash) : undefined;
    return loaded && link ? { state: loaded.state, link } : undefined;
  }

  router.get('/:secret', async (ctx) => {
    const tokenHash = deps.invitations.hashOf(String(ctx.params.secret));
    const link = tokenHash ? await deps.invitations.find(tokenHash) : undefined;
    if (!tokenHash || !link) return invalidPage(ctx);
    const ttl = Math.max(1, Math.ceil((link.record.expiresAt - deps.clock.now()) / 1000));
    await states.begin(ctx, { tokenHash, accepted: null }, ttl);
    ctx.status = 303;
    ctx.redirect('/invitation');
  });

  router.get('/', async (ctx) => {
    const loaded = await states.load(ctx);
    if (loaded?.state.accepted) return page(ctx, 'invitation/done', 'Your account is ready', loaded.state.accepted);
    const use = await linkInUse(ctx);
    if (!use) return invalidPage(ctx);
    await formPage(ctx, use.link, use.link.account.user.name ?? '', {});
  });

  router.post('/', formBody(), csrf.verify, async (ctx) => {
    const use = await linkInUse(ctx);
    if (!use) return invalidPage(ctx);
    const parsed = schema.safeParse(ctx.request.body);
    if (!parsed.success) {
      ctx.status = 400;
      return formPage(ctx, use.link, '', fieldErrors(parsed.error));
    }
    try {
      const account = await deps.invitations.accept(use.state.tokenHash, parsed.data);
      const accepted = { orgName: account.organization.name, email: account.user.email };
      await states.save(ctx, { ...use.state, accepted }, 600);
    } catch (error) {
      if (!(error instanceof AppError) || error.status >= 500) throw error;
      if (error.code === 'link_invalid') return invalidPage(ctx);
      ctx.status = error.status;
      return formPage(ctx, use.link, parsed.data.name, error.fields);
    }
    ctx.status = 303;
    ctx.redirect('/invitation');
  });

  return router;
}
