/** What ending a person's access ended. */
export interface EndedAccess {
  /** Browser sessions at the provider; an account-pages sign-in made through one ends with it. */
  sessions: number;
  /** Grants whose authorization codes, access tokens and refresh tokens were revoked. */
  grants: number;
}

/**
 * Everything the OpenID provider issued to one person, ended at once: a TFA reset, a password reset
 * and disabling a person call it, so that no session or token from before the change (still amr mfa,
 * still accepted by introspection) outlives it. Implemented over the provider in src/oidc/.
 */
export interface AccountAccess {
  /** Ends every browser session and revokes every grant of the person (the OIDC `sub`, our user id). */
  endAll(accountId: string): Promise<EndedAccess>;
}
