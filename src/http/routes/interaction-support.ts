import type { Context } from 'koa';
import type Provider from 'oidc-provider';
import { errors as oidcErrors, type InteractionResults } from 'oidc-provider';
import { z } from 'zod';

import { httpErrors } from '../error-codes.ts';
import { acrFor, amrFor, type CompletedMethod } from '../../domain/authentication.ts';
export { mfaRequested } from '../../domain/authentication.ts';

const uidSchema = z.string().regex(/^[A-Za-z0-9_-]{10,64}$/);

export type InteractionDetails = Awaited<ReturnType<Provider['interactionDetails']>>;

export const expiredInteraction = () => httpErrors.raise('interaction_expired');

export const wrongStep = () => httpErrors.raise('wrong_step');

/**
 * The interaction must exist, belong to this browser (its cookie) and match the URL. It is read
 * once per request (kept in ctx.state): a step that loads it and then ends it (resultUrl) does not
 * read, open and check it a second time.
 */
export async function loadInteraction(provider: Provider, ctx: Context): Promise<InteractionDetails> {
  if (!uidSchema.safeParse(ctx.params.uid).success) throw expiredInteraction();
  const loaded = ctx.state.interaction as InteractionDetails | undefined;
  if (loaded && loaded.uid === ctx.params.uid) return loaded;
  try {
    const details = await provider.interactionDetails(ctx.req, ctx.res);
    if (details.uid !== ctx.params.uid) throw expiredInteraction();
    ctx.state.interaction = details;
    return details;
  } catch (error) {
    if (error instanceof oidcErrors.SessionNotFound || error instanceof oidcErrors.InvalidRequest)
      throw expiredInteraction();
    throw error;
  }
}

/** A login-prompt interaction, or a clear 400 when this step is over. */
export async function loadLoginInteraction(provider: Provider, ctx: Context): Promise<InteractionDetails> {
  const details = await loadInteraction(provider, ctx);
  if (details.prompt.name !== 'login') throw wrongStep();
  return details;
}

/**
 * Where the browser goes next once the interaction has a result. With the interaction this request
 * already loaded, this is what provider.interactionResult does after loading it again: the result
 * saved for the rest of the interaction's lifetime (its `exp`, on the provider's own clock).
 */
export async function resultUrl(
  provider: Provider,
  ctx: Context,
  result: InteractionResults,
  merge: boolean,
): Promise<string> {
  const interaction = ctx.state.interaction as InteractionDetails | undefined;
  if (!interaction) return provider.interactionResult(ctx.req, ctx.res, result, { mergeWithLastSubmission: merge });
  interaction.result = merge && !('error' in result) ? { ...interaction.lastSubmission, ...result } : result;
  await interaction.save(interaction.exp - Math.floor(Date.now() / 1000));
  return interaction.returnTo;
}

export async function finish(
  provider: Provider,
  ctx: Context,
  result: InteractionResults,
  merge: boolean,
): Promise<void> {
  const target = await resultUrl(provider, ctx, result, merge);
  ctx.status = 303;
  ctx.redirect(target);
}

/** The login result once every required factor is proven: acr, amr and auth_time follow from the methods. */
export function loginResult(accountId: string, methods: CompletedMethod[]): InteractionResults {
  const last = Math.max(...methods.map((m) => m.at));
  return { login: { accountId, acr: acrFor(methods), amr: amrFor(methods), ts: last, remember: true } };
}

/** The trusted-browser cookie: `__Host-` over https, so no sibling subdomain can set or shadow it. */
export const trustCookieName = (secure: boolean) => (secure ? '__Host-twofold.trusted' : 'twofold.trusted');
