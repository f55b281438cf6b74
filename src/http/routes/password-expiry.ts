import Router from '@koa/router';
import type { Context } from 'koa';
import type Provider from 'oidc-provider';
import { z } from 'zod';

import type { Accounts } from '../../domain/accounts.ts';
import { AppError } from '../../domain/errors.ts';
import { isPasswordExpired } from '../../domain/passwords/expiry.ts';
import type { Clock } from '../../ports/clock.ts';
import type { EphemeralStore } from '../../ports/ephemeral-store.ts';
import type { UserWithOrganization } from '../../ports/stores.ts';
import type { Views } from '../../ports/views.ts';
import type { Csrf } from '../middleware/csrf.ts';
import { formBody } from '../middleware/form-body.ts';
import { brandFor } from './brand.ts';
import { expiredInteraction, loadLoginInteraction } from './interaction-support.ts';
import type { FinishedSignIn, FinishSignIn } from './sign-in-completion.ts';
import { lengthCheck } from '../password-length-check.ts';

export interface PasswordExpiryDeps {
  provider: Provider;
  accounts: Pick<Accounts, 'findAccount' | 'renewExpiredPassword' | 'passwordRulesFor'>;
  ephemeral: EphemeralStore;
  views: Views;
  csrf: Csrf;
  clock: Clock;
  maxPasswordLength: number;
  /** The sign-in's end once the password is renewed (createFinishSignIn). */
  finish: FinishSignIn;
}

/** As long as the interaction the new password is chosen in may take. */
const PENDING_TTL_SECONDS = 15 * 60;
const key = (uid: string) => `expired-password:${uid}`;

const passwordForm = (max: number) =>
  z.object({
    password: z
      .string()
      .max(max * 4, 'That password is too long.')
      .default(''),
    confirm: z
      .string()
      .max(max * 4, 'That password is too long.')
      .default(''),
  });

interface ExpiredStep {
  uid: string;
  signIn: FinishedSignIn;
  account: UserWithOrganization;
}

/**
 * Password expiry, where the organization turned it on: a sign-in that used an expired password
 * stops after every factor is proven (never before: only the person who passes the second factor
 * may choose the new password) and before any session exists, on a page that asks for a new
 * password under the organization's rules; then the sign-in ends as it would have. A passkey
 * sign-in did not use the password and is not stopped; app passwords never expire.
 */
export function createPasswordExpiry(deps: PasswordExpiryDeps): { finishSignIn: FinishSignIn; routes: Router } {
  const schema = passwordForm(deps.maxPasswordLength);

  const finishSignIn: FinishSignIn = async (ctx, signIn) => {
    if (!signIn.methods.some((m) => m.method === 'password')) return deps.finish(ctx, signIn);
    const account = await deps.accounts.findAccount(signIn.person.orgId, signIn.person.userId);
    if (!account || !isPasswordExpired(account, deps.clock.now())) return deps.finish(ctx, signIn);
    const { uid } = await loadLoginInteraction(deps.provider, ctx);
    await deps.ephemeral.put(key(uid), signIn, PENDING_TTL_SECONDS);
    return `/interaction/${uid}/password`;
  };

  async function load(ctx: Context): Promise<ExpiredStep> {
    const { uid } = await loadLoginInteraction(deps.provider, ctx);
    const signIn = await deps.ephemeral.get<FinishedSignIn>(key(uid));
    const account = signIn && (await deps.accounts.findAccount(signIn.person.orgId, signIn.person.userId));
    if (!signIn || !account) throw expiredInteraction();
    return { uid, signIn, account };
  }

  async function show(ctx: Context, step: ExpiredStep, errors: Record<string, string>) {
    const { organization } = step.account;
    ctx.type = 'html';
    ctx.set('cache-control', 'no-store');
    ctx.body = await deps.views.render('interaction/password-expired', {
      title: 'Choose a new password',
      brand: brandFor(ctx, organization),
      uid: step.uid,
      email: step.account.user.email,
      orgName: organization.name,
      maxAgeDays: organization.passwordMaxAgeDays,
      ...lengthCheck(deps.accounts.passwordRulesFor(organization).minLength),
      errors,
      csrfToken: deps.csrf.tokenFor(ctx),
    });
  }

  const router = new Router({ prefix: '/interaction/:uid/password' });

  router.get('/', async (ctx) => show(ctx, await load(ctx), {}));

  router.post('/', formBody(), deps.csrf.verify, async (ctx) => {
    const step = await load(ctx);
    const form = schema.safeParse(ctx.request.body);
    if (!form.success || form.data.password !== form.data.confirm) {
      ctx.status = 400;
      return show(
        ctx,
        step,
        form.success
          ? { confirm: 'The two passwords are not the same. Type the new password twice.' }
          : Object.fromEntries(form.error.issues.map((i) => [String(i.path[0]), i.message])),
      );
    }
    try {
      await deps.accounts.renewExpiredPassword(step.account, { password: form.data.password, ip: ctx.ip });
    } catch (error) {
      if (!(error instanceof AppError) || Object.keys(error.fields).length === 0) throw error;
      ctx.status = error.status;
      return show(ctx, step, error.fields);
    }
    // One completion per interaction, whatever a second submission does meanwhile.
    if (!(await deps.ephemeral.take<FinishedSignIn>(key(step.uid)))) throw expiredInteraction();
    ctx.status = 303;
    ctx.redirect(await deps.finish(ctx, step.signIn));
  });

  return { finishSignIn, routes: router };
}
