import type Router from '@koa/router';
import type { Middleware } from 'koa';
import type Provider from 'oidc-provider';

import type { Config } from '../config/load.ts';
import type { AccountSecurity } from '../domain/account-security.ts';
import type { Accounts } from '../domain/accounts.ts';
import type { AppPasswords } from '../domain/app-passwords.ts';
import type { Audit } from '../domain/audit.ts';
import type { Methods } from '../domain/methods.ts';
import type { Throttle } from '../domain/throttle.ts';
import type { FactorRegistry } from '../factors/registry.ts';
import type { Csrf } from '../http/middleware/csrf.ts';
import { createInvitations, type Invitations } from '../domain/invitations.ts';
import { createPasswordResets, type PasswordResets } from '../domain/password-resets.ts';
import { createPersonLinks } from '../domain/person-links.ts';
import { createThrottle } from '../domain/throttle.ts';
import { adminPersonLinkRoutes } from '../http/routes/admin/admin-person-links.ts';
import { invitationRoutes, type InvitationState } from '../http/routes/invitation.ts';
import { createLinkStates } from '../http/routes/link-state.ts';
import { passwordResetRoutes, type ResetState } from '../http/routes/password-reset.ts';
import { resetVerificationRoutes } from '../http/routes/password-reset-verify.ts';
import type { AccountAccess } from '../ports/account-access.ts';
import { systemPause, type Clock } from '../ports/clock.ts';
import type { KeyedHash } from '../ports/keyed-hash.ts';
import type { Mailer } from '../ports/mailer.ts';
import type { PersonTokenStore } from '../ports/person-token-store.ts';
import type { UserStore } from '../ports/stores.ts';
import type { Random } from '../ports/random.ts';
import type { Views } from '../ports/views.ts';
import type { Storage } from '../storage/open.ts';
import { createSqlPersonLinkStore } from '../storage/sql/person-link-store.ts';

/**
 * Reset-link requests, per address and per client address, each request counted whether or not the
 * address is known: three at once, then a wait that doubles, forgotten after an hour. Room for a
 * person who mistyped; too little to flood someone's mailbox.
 */
const LINK_REQUESTS = {
  account: { freeAttempts: 3, windowSeconds: 3600, maxDelaySeconds: 3600 },
  ip: { freeAttempts: 20, windowSeconds: 3600, maxDelaySeconds: 3600 },
};

/** The emailed-link flows' routers, and the services the admin API uses too. */
export interface PersonLinkParts {
  routers: Router[];
  resets: PasswordResets;
  invitations: Invitations;
}

/** Emailed one-time links: forgotten passwords, the administrator's reset link, and invitations. */
export function personLinkRouters(deps: {
  config: Config;
  storage: Storage;
  accounts: Accounts;
  /** What the second step of sign-in shares with the reset's: the factors and their attempt budget. */
  signIn: {
    provider: Provider;
    methods: Methods;
    registry: FactorRegistry;
    throttle: Throttle;
    audit: Audit;
    csrf: Csrf;
  };
  security: Pick<AccountSecurity, 'revokeAllTrustedBrowsers'>;
  access: AccountAccess;
  appPasswords: Pick<AppPasswords, 'revokeAll'>;
  mailer: Mailer;
  /** The app's own stores: links read people and keep their tokens there. */
  users: UserStore;
  personTokens: PersonTokenStore;
  views: Views;
  keyedHash: KeyedHash;
  random: Random;
  clock: Clock;
  secureCookies: boolean;
  adminGuards: Middleware[];
  requireFreshAuth: Middleware;
}): PersonLinkParts {
  const { config, storage, accounts, signIn, views, keyedHash, random, clock, secureCookies } = deps;
  const { db } = storage.sql;
  const { users } = deps;
  const store = createSqlPersonLinkStore(db);
  const links = createPersonLinks({
    tokens: deps.personTokens,
    users,
    keyedHash,
    random,
    clock,
    issuer: config.issuer,
  });
  const { audit, csrf, methods } = signIn;
  const resets = createPasswordResets({
    links,
    store,
    users,
    accounts,
    access: deps.access,
    appPasswords: deps.appPasswords,
    forgetTrustedBrowsers: (person) => deps.security.revokeAllTrustedBrowsers(person),
    mailer: deps.mailer,
    audit,
    clock,
  });
  const invitations = createInvitations({ links, store, accounts, mailer: deps.mailer, audit, clock });
  const stateDeps = { ephemeral: storage.ephemeral, keyedHash, random, secureCookies };
  const resetStates = createLinkStates<ResetState>({ name: 'password-reset', ...stateDeps });
  const maxPasswordLength = config.passwords.maxLength;
  const routers = [
    // First: /reset-password/verify would otherwise be read as a link's secret.
    resetVerificationRoutes({ ...signIn, resets, states: resetStates, views, clock }),
    passwordResetRoutes({
      resets,
      states: resetStates,
      methods,
      accounts,
      requestThrottle: createThrottle({
        counter: storage.counter,
        clock,
        pause: systemPause,
        purpose: 'reset-link',
        rules: LINK_REQUESTS,
      }),
      provider: signIn.provider,
      views,
      csrf,
      clock,
      secureCookies,
      maxPasswordLength,
    }),
    invitationRoutes({
      invitations,
      states: createLinkStates<InvitationState>({ name: 'invitation', ...stateDeps }),
      accounts,
      views,
      csrf,
      clock,
      maxPasswordLength,
    }),
    adminPersonLinkRoutes({
      resets,
      invitations,
      views,
      csrf,
      guards: deps.adminGuards,
      requireFreshAuth: deps.requireFreshAuth,
    }),
  ];
  return { routers, resets, invitations };
}
