/** The account pages are a first-party OIDC client of this provider (DESIGN §2). */
export const ACCOUNT_CLIENT_ID = 'twofold-account';

export function accountClientMetadata(issuer: string): Record<string, unknown> {
  return {
    client_id: ACCOUNT_CLIENT_ID,
    client_name: 'Your Twofold account',
    application_type: 'web',
    grant_types: ['authorization_code'],
    response_types: ['code'],
    redirect_uris: [`${issuer}/account/callback`],
    post_logout_redirect_uris: [`${issuer}/account/signed-out`],
    token_endpoint_auth_method: 'none',
  };
}
