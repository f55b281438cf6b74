/** The account pages' session cookie (shared with the admin console). */
export const ACCOUNT_COOKIE = 'twofold.account';

/** The browser's key to a change that waits for a step-up (see requireFreshAuth). */
export const RESUME_COOKIE = 'twofold.resume';

/**
 * Over https the account cookies take the __Host- prefix (RFC 6265bis §4.1.3.2): host-only,
 * path /, secure, so a sibling subdomain cannot plant one (cookie tossing).
 */
export const cookieName = (name: string, secure: boolean) => (secure ? `__Host-${name}` : name);

/** Short-lived binding cookies. */
export const cookieOptions = (secure: boolean, maxAge: number) =>
  ({ httpOnly: true, sameSite: 'lax', secure, path: '/', maxAge, overwrite: true }) as const;
