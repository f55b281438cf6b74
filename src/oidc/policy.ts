import { interactionPolicy } from 'oidc-provider';

/**
 * The interaction policy: oidc-provider's `login` prompt (no session, prompt=login, an expired
 * max_age, an unmet essential acr) followed by `consent`. The login prompt is resolved by our
 * interaction routes only after every factor the person needs has been proven.
 */
export function createPolicy(): interactionPolicy.Prompt[] {
  return interactionPolicy.base();
}
