import type { Context } from 'koa';
import type Provider from 'oidc-provider';

import type { Audit } from '../../domain/audit.ts';
import type { CompletedMethod } from '../../domain/authentication.ts';
import type { DeviceCookies } from '../../domain/device-cookies.ts';
import type { TrustedBrowsers } from '../../domain/trusted-browsers.ts';
import type { Person } from '../../factors/factor.ts';
import { loginResult, resultUrl, trustCookieName } from './interaction-support.ts';

export interface FinishedSignIn {
  person: Person;
  /** Every method proven in this sign-in: acr, amr and auth_time follow from them. */
  methods: CompletedMethod[];
  /** "Trust this browser" was ticked, for this many days (0: the organization forbids it). */
  trustDays?: number;
}

/** Where the browser goes once every required factor is proven. */
export type FinishSignIn = (ctx: Context, signIn: FinishedSignIn) => Promise<string>;

/**
 * The one way a sign-in ends, whatever proved it (a password alone where nothing more is
 * required, a password and a second factor, a passkey): the audit event, the trusted-browser
 * cookie if asked for, the device cookie that keeps this browser's password attempts apart from
 * strangers', and the interaction result that resolves oidc-provider's login prompt. A browser
 * without a valid device cookie for this account has not signed in to it before (or was cleared):
 * the event says `newBrowser`, and the person is emailed.
 */
export function createFinishSignIn(deps: {
  provider: Provider;
  trustedBrowsers: TrustedBrowsers;
  audit: Audit;
  secureCookies: boolean;
  deviceCookies: DeviceCookies;
}): FinishSignIn {
  return async (ctx, { person, methods, trustDays = 0 }) => {
    const cookies = deps.deviceCookies;
    const newBrowser = cookies.deviceFor(ctx.cookies.get(cookies.name), person.email) === undefined;
    setDeviceCookie(ctx, cookies, person.email);
    if (trustDays > 0) {
      const { token, maxAgeMs } = await deps.trustedBrowsers.trust(person, trustDays, ctx.get('user-agent'));
      ctx.cookies.set(trustCookieName(deps.secureCookies), token, {
        httpOnly: true,
        sameSite: 'lax',
        secure: deps.secureCookies,
        path: '/',
        maxAge: maxAgeMs,
        overwrite: true,
      });
    }
    const last = methods.at(-1)!;
    await deps.audit.record({
      type: 'signin.succeeded',
      orgId: person.orgId,
      userId: person.userId,
      ip: ctx.ip,
      detail: { method: last.method, amr: last.amr, newBrowser },
    });
    return resultUrl(deps.provider, ctx, loginResult(person.userId, methods), false);
  };
}

/** HttpOnly and SameSite=Lax; Secure with the `__Host-` name when the issuer is https. */
function setDeviceCookie(ctx: Context, cookies: DeviceCookies, email: string): void {
  const { value, maxAgeMs } = cookies.issue(email);
  ctx.cookies.set(cookies.name, value, {
    httpOnly: true,
    sameSite: 'lax',
    secure: cookies.secure,
    path: '/',
    maxAge: maxAgeMs,
    overwrite: true,
  });
}
