import type { KoaContextWithOIDC } from 'oidc-provider';
import { interactionPolicy } from 'oidc-provider';

import { ACR_MFA, mfaRequested } from '../domain/authentication.ts';
import type { Clock } from '../ports/clock.ts';
import type { UserWithOrganization } from '../ports/stores.ts';
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
  /**
   * The person must enrol an allowed method before any session: their organization requires TFA
   * (or phishing-resistant methods of them) and their enrolment deadline has passed, or every
   * method they have is one the organization now forbids.
   */
  needsEnrolment(account: UserWithOrganization): Promise<boolean>;
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
  // A session whose person findAccount no longer finds (disabled since, or gone) signs in again,
  // where a disabled person is refused; prompt=none gets login_required (OIDC Core §3.1.2.6).
  login.checks.add(
    new Check(
      'account_unavailable',
      'The account of this session cannot sign in',
      'login_required',
      (ctx: KoaContextWithOIDC) =>
        ctx.oidc.session?.accountId && !ctx.oidc.account ? Check.REQUEST_PROMPT : Check.NO_NEED_TO_PROMPT,
    ),
  );
  // An organization that turns enforcement on, or forbids a method, catches existing sessions at
  // the next authorization request: people who must enrol an allowed method sign in again and do
  // (prompt=none: interaction_required). A multi-factor session is no exception: its factor may be
  // the forbidden one. People inside their enrolment grace keep their sessions.
  login.checks.add(
    new Check(
      'enrolment_required',
      'The organization requires a two-step verification method that is not set up',
      'interaction_required',
      async (ctx: KoaContextWithOIDC) => {
        // The person findAccount already read for this request (provider.ts): no second read.
        const person = (ctx.oidc.account as { person?: UserWithOrganization } | undefined)?.person;
        if (!ctx.oidc.session?.accountId || !person) return Check.NO_NEED_TO_PROMPT;
        return (await deps.needsEnrolment(person)) ? Check.REQUEST_PROMPT : Check.NO_NEED_TO_PROMPT;
      },
    ),
  );
  login.checks.add(sessionMaxAgeCheck(deps.clock));
  return policy;
}
