import path from 'node:path';
import type Router from '@koa/router';
import type Provider from 'oidc-provider';
import type { Context } from 'koa';

import type { Config } from '../config/load.ts';
import type { AccountSecurity } from '../domain/account-security.ts';
import { createAccountSessions } from '../domain/account-sessions.ts';
import type { Accounts } from '../domain/accounts.ts';
import type { Audit } from '../domain/audit.ts';
import type { Methods } from '../domain/methods.ts';
import type { Setup } from '../domain/setup.ts';
import type { SignInFlow } from '../domain/sign-in-flow.ts';
import type { Throttle } from '../domain/throttle.ts';
import type { RecoveryCodes } from '../factors/recovery-codes/recovery-codes.ts';
import type { FactorRegistry } from '../factors/registry.ts';
import type { Csrf } from '../http/middleware/csrf.ts';
import { accountApiRoutes } from '../http/routes/account-api.ts';
import { adminApiRoutes } from '../http/routes/admin/admin-api.ts';
import { adminApiActionRoutes } from '../http/routes/admin/admin-api-actions.ts';
import { accountAppPasswordRoutes } from '../http/routes/account-app-passwords.ts';
import { forwardAuthRoutes } from '../http/routes/forward-auth.ts';
import type { Clients } from '../domain/clients.ts';
import type { LegacyAccess } from './legacy.ts';
import type { Organizations } from '../domain/organizations.ts';
import type { People } from '../domain/people.ts';
import type { TfaReset } from '../domain/tfa-reset.ts';
import type { DeviceCookies } from '../domain/device-cookies.ts';
import type { Mailer } from '../ports/mailer.ts';
import type { PersonTokenStore } from '../ports/person-token-store.ts';
import { adminPeopleRoutes } from '../http/routes/admin/admin-people.ts';
import { adminAccessCodeRoutes, createAccessCodeSection } from '../http/routes/admin/admin-access-codes.ts';
import type { AccessCodes } from '../domain/access-codes.ts';
import { adminPersonStatusRoutes, createPersonStatusSection } from '../http/routes/admin/admin-person-status.ts';
import type { PersonStatus } from '../domain/person-status.ts';
import type { SignInThrottles } from '../domain/sign-in-throttles.ts';
import { personLinkRouters } from './person-links.ts';
import type { EnrolmentGrace } from '../domain/enrolment-grace.ts';
import type { TfaRequirement } from '../domain/tfa-requirement.ts';
import { adminGraceRoutes } from '../http/routes/admin/admin-grace.ts';
import { adminMethodRoutes, methodPolicyView } from '../http/routes/admin/admin-methods.ts';
import { enrolmentGraceRoutes } from '../http/routes/enrolment-grace.ts';
import { adminSecurityRoutes, createSecurityPage } from '../http/routes/admin/admin-security.ts';
import { adminSessionPolicyRoutes } from '../http/routes/admin/admin-session-policy.ts';
import type { Activity } from '../domain/activity.ts';
import type { TrustedBrowsers } from '../domain/trusted-browsers.ts';
import { accountActivityRoutes } from '../http/routes/account-activity.ts';
import { createActivityRows } from '../http/routes/activity-rows.ts';
import { adminActivityRoutes } from '../http/routes/admin/admin-activity.ts';
import { createPersonSessions } from '../http/routes/admin/person-sessions.ts';
import { adminHomeRoutes, requireAdmin } from '../http/routes/admin/admin-context.ts';
import { accountAuthRoutes, requireFreshAuth } from '../http/routes/account-auth.ts';
import { requireAccount } from '../http/routes/require-account.ts';
import { accountPageRoutes } from '../http/routes/account-pages.ts';
import { accountTwoFactorRoutes } from '../http/routes/account-two-factor.ts';
import { assetRoutes } from '../http/routes/assets.ts';
import { enrolmentRoutes } from '../http/routes/enrolment.ts';
import { passwordlessRoutes } from '../http/routes/factors/passwordless-routes.ts';
import { healthRoutes } from '../http/routes/health.ts';
import { interactionRoutes } from '../http/routes/interaction.ts';
import { trustCookieName } from '../http/routes/interaction-support.ts';
import { secondFactorRoutes } from '../http/routes/second-factor.ts';
import { setupRoutes } from '../http/routes/setup.ts';
import type { FinishSignIn } from '../http/routes/sign-in-completion.ts';
import { ACCOUNT_CLIENT_ID } from '../oidc/account-client.ts';
import type { SessionIndex } from '../oidc/session-index.ts';
import type { Clock } from '../ports/clock.ts';
import type { KeyedHash } from '../ports/keyed-hash.ts';
import type { Random } from '../ports/random.ts';
import type { ClientStore, UserStore } from '../ports/stores.ts';
import type { Views } from '../ports/views.ts';
import type { Storage } from '../storage/open.ts';

/** What every sign-in route shares: the interaction, the methods, and the one way a sign-in ends. */
export interface SignInParts {
  provider: Provider;
  flow: SignInFlow;
  requirement: TfaRequirement;
  methods: Methods;
  registry: FactorRegistry;
  audit: Audit;
  csrf: Csrf;
  finishSignIn: FinishSignIn;
  deviceCookies: DeviceCookies;
  throttle: Throttle;
}

/** The HTTP routes of the composition root, in the order they are tried. */
export function createRouters(deps: {
  config: Config;
  root: string;
  provider: Provider;
  views: Views;
  csrf: Csrf;
  storage: Storage;
  clientStore: ClientStore;
  accounts: Accounts;
  audit: Audit;
  setup: Setup;
  signIn: SignInParts;
  /** The new password a sign-in with an expired one asks for (password-expiry.ts). */
  passwordExpiryRoutes: Router;
  recovery: RecoveryCodes;
  security: AccountSecurity;
  sessionIndex: SessionIndex;
  clients: Clients;
  legacy: LegacyAccess;
  organizations: Organizations;
  people: People;
  tfaReset: TfaReset;
  accessCodes: AccessCodes;
  /** Emails that are the point of a request (reset links, invitations); security notices go through the audit trail. */
  mailer: Mailer;
  users: UserStore;
  personTokens: PersonTokenStore;
  personStatus: PersonStatus;
  signInThrottles: SignInThrottles;
  enrolmentGrace: EnrolmentGrace;
  activity: Activity;
  trustedBrowsers: TrustedBrowsers;
  keyedHash: KeyedHash;
  random: Random;
  clock: Clock;
  secureCookies: boolean;
}): Router[] {
  const { config, provider, views, csrf, storage, accounts, audit, setup, signIn, recovery, security, sessionIndex } =
    deps;
  const { keyedHash, random, clock, secureCookies } = deps;
  const trustToken = (ctx: Context) => ctx.cookies.get(trustCookieName(secureCookies));
  const { flow, methods, registry, finishSignIn } = signIn;
  const accountAuth = {
    provider,
    hasSecondFactor: (orgId: string, userId: string) => methods.hasAny({ orgId, userId }),
    sessions: createAccountSessions({ ephemeral: storage.ephemeral, keyedHash, random, clock }),
    ephemeral: storage.ephemeral,
    accounts,
    audit,
    random,
    clock,
    views,
    csrf,
    issuer: config.issuer,
    secureCookies,
    maxAgeSeconds: config.stepUp.maxAgeSeconds,
  };
  const signedIn = requireAccount(accountAuth);
  const fresh = requireFreshAuth(accountAuth);
  const adminGuards = [signedIn, requireAdmin(accounts)];
  const securityPage = {
    organizations: deps.organizations,
    views,
    csrf,
    guards: adminGuards,
    requireFreshAuth: fresh,
    maxAgeSeconds: config.stepUp.maxAgeSeconds,
    methodPolicy: methodPolicyView(registry),
  };
  const toRow = createActivityRows(registry);
  const personLinks = personLinkRouters({
    ...deps,
    access: sessionIndex,
    appPasswords: deps.legacy.appPasswords,
    adminGuards,
    requireFreshAuth: fresh,
  });
  const adminApi = {
    provider,
    accounts,
    methods,
    clock,
    maxAgeSeconds: config.stepUp.maxAgeSeconds,
    mayUseAdminApi: async (clientId: string) => (await deps.clientStore.findClient(clientId))?.adminApi ?? false,
    people: deps.people,
    accessCodes: deps.accessCodes,
    enrolmentGrace: deps.enrolmentGrace,
  };
  return [
    assetRoutes({ root: path.join(deps.root, 'public') }),
    healthRoutes({ checks: storage.checks, timeoutMs: 2000 }),
    setupRoutes({ setup, views, csrf, issuer: config.issuer }),
    interactionRoutes({
      provider,
      accounts,
      flow,
      audit,
      views,
      csrf,
      registry,
      finishSignIn,
      deviceCookies: signIn.deviceCookies,
      secureCookies,
      maxPasswordLength: config.passwords.maxLength,
    }),
    secondFactorRoutes({ ...signIn, views }),
    enrolmentGraceRoutes({ ...signIn, accounts, views, clock }),
    deps.passwordExpiryRoutes,
    ...enrolmentRoutes({ ...signIn, accounts, views, recovery, clock, transactions: storage.sql.transactions }),
    passwordlessRoutes({
      provider,
      registry,
      accounts,
      throttle: signIn.throttle,
      finishSignIn,
      clock,
      guards: [csrf.verify],
    }),
    forwardAuthRoutes({ clients: deps.clients, legacy: deps.legacy.legacy, realm: new URL(config.issuer).host }),
    accountAuthRoutes(accountAuth),
    adminHomeRoutes(adminGuards),
    adminPeopleRoutes({
      people: deps.people,
      tfaReset: deps.tfaReset,
      security,
      views,
      csrf,
      guards: adminGuards,
      requireFreshAuth: fresh,
      accessCodeSection: createAccessCodeSection(deps.accessCodes),
      statusSection: createPersonStatusSection({ personStatus: deps.personStatus, throttles: deps.signInThrottles }),
      personSessions: createPersonSessions({
        sessionIndex,
        trustedBrowsers: deps.trustedBrowsers,
        clientName: async (id) => (await provider.Client.find(id))?.clientName ?? id,
      }),
    }),
    adminAccessCodeRoutes({
      people: deps.people,
      accessCodes: deps.accessCodes,
      ephemeral: storage.ephemeral,
      views,
      csrf,
      guards: adminGuards,
      requireFreshAuth: fresh,
    }),
    adminActivityRoutes({ activity: deps.activity, toRow, views, csrf, guards: adminGuards, clock }),
    accountActivityRoutes({ accounts, activity: deps.activity, toRow, views, csrf, requireAccount: signedIn }),
    adminPersonStatusRoutes({
      people: deps.people,
      personStatus: deps.personStatus,
      throttles: deps.signInThrottles,
      csrf,
      guards: adminGuards,
      requireFreshAuth: fresh,
    }),
    adminSecurityRoutes(securityPage),
    adminMethodRoutes({ ...securityPage, showSecurityPage: createSecurityPage(securityPage) }),
    adminGraceRoutes({
      grace: deps.enrolmentGrace,
      people: deps.people,
      views,
      csrf,
      guards: adminGuards,
      requireFreshAuth: fresh,
    }),
    ...personLinks.routers,
    adminSessionPolicyRoutes(securityPage),
    accountAppPasswordRoutes({
      accounts,
      appPasswords: deps.legacy.appPasswords,
      methods,
      ephemeral: storage.ephemeral,
      views,
      csrf,
      requireAccount: signedIn,
      requireFreshAuth: fresh,
    }),
    accountPageRoutes({
      accounts,
      security,
      appPasswords: deps.legacy.appPasswords,
      sessionIndex,
      views,
      csrf,
      requireAccount: signedIn,
      requireFreshAuth: fresh,
      maxPasswordLength: config.passwords.maxLength,
      clientName: async (id) => (await provider.Client.find(id))?.clientName ?? id,
      trustToken,
    }),
    accountApiRoutes({
      provider,
      security,
      methods,
      accounts,
      clock,
      maxAgeSeconds: config.stepUp.maxAgeSeconds,
      mayUseAccountApi: async (clientId) =>
        clientId === ACCOUNT_CLIENT_ID || ((await deps.clientStore.findClient(clientId))?.accountApi ?? false),
    }),
    adminApiRoutes({ ...adminApi, organizations: deps.organizations, tfaReset: deps.tfaReset, security }),
    adminApiActionRoutes({ ...adminApi, ...personLinks, personStatus: deps.personStatus, activity: deps.activity }),
    ...accountTwoFactorRoutes({
      accounts,
      security,
      sessions: accountAuth.sessions,
      registry,
      ephemeral: storage.ephemeral,
      views,
      csrf,
      requireAccount: signedIn,
      requireFreshAuth: fresh,
      maxAgeSeconds: config.stepUp.maxAgeSeconds,
      trustToken,
      clock,
      transactions: storage.sql.transactions,
    }),
  ];
}
