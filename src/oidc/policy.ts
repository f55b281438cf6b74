import type { KoaContextWithOIDC } from 'oidc-provider';
import { interactionPolicy } from 'oidc-provider';

import { ACR_MFA, mfaRequested } from '../domain/authentication.ts';
import type { Clock } from '../ports/clock.ts';
import { sessionMaxAgeCheck } from './session-lifetime.ts';

const { Check } = interactionPolicy;

/**
 * The interaction policy: oidc-provider's `login` prompt (no session, prompt=login, an expired
 * max_age, an unmet essential acr) followed by `consent`. One check is ours: a relying party
 * asking for MFA (acr_values) is never served from a password-only session. The login prompt is
 * resolved by our interaction routes only after every factor the person needs has been proven.
 * A session past the organization's maximum length asks for a new sign-in (session-lifetime.ts).
 */
export function createPolicy(deps: {
  /** The account's organization requires TFA and the person has no factor yet: they must enrol first. */
  needsEnrolment(accountId: string): Promise<boolean>;
  clock: Clock;
}): interactionPolicy.Prompt[] {
  const policy = interactionPolicy.base();
  const login = policy.find((prompt) => prompt.name === 'login')!;
  login.checks.add(
    new Check('mfa_required', 'The client asked for multi-factor authentication', (ctx: KoaContextWithOIDC) => {
      const { oidc } = ctx;
      if (!oidc.session?.accountId) return Check.NO_NEED_TO_PROMPT;
      return mfaRequested(oidc.params ?? {}) && oidc.session.acr !== ACR_MFA
        ? Check.REQUEST_PROMPT
        : Check.NO_NEED_TO_PROMPT;
    }),
  );
  // An organization that turns enforcement on catches existing sessions at the next authorization
  // request: people without a factor sign in again and enrol (prompt=none: interaction_required).
  login.checks.add(
    new Check(
      'enrolment_required',
      'The organization requires two-step verification and it is not set up',
      'interaction_required',
      async (ctx: KoaContextWithOIDC) => {
        const accountId = ctx.oidc.session?.accountId;
        if (!accountId || ctx.oidc.session?.acr === ACR_MFA) return Check.NO_NEED_TO_PROMPT;
        return (await deps.needsEnrolment(accountId)) ? Check.REQUEST_PROMPT : Check.NO_NEED_TO_PROMPT;
      },
    ),
  );
  login.checks.add(sessionMaxAgeCheck(deps.clock));
  return policy;
}
