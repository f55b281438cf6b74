import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type Provider from 'oidc-provider';
import type { Logger } from 'pino';

import type { Config } from './config/load.ts';
import { loadSecrets } from './config/secrets.ts';
import { createAccessCodes } from './domain/access-codes.ts';
import { createAccounts, type Accounts } from './domain/accounts.ts';
import { createAudit, type Audit } from './domain/audit.ts';
import { createRequestContext } from './http/request-context.ts';
import { createAdministration } from './compose/administration.ts';
import { startHousekeeping } from './compose/housekeeping.ts';
import type { TfaReset } from './domain/tfa-reset.ts';
import type { People } from './domain/people.ts';
import type { PersonStatus } from './domain/person-status.ts';
import { createClients, type Clients } from './domain/clients.ts';
import { createOrganizations, type Organizations } from './domain/organizations.ts';
import { createPasswordPolicy } from './domain/passwords/policy.ts';
import { createSetup, type Setup } from './domain/setup.ts';
import type { AppPasswords } from './domain/app-passwords.ts';
import { createThrottle } from './domain/throttle.ts';
import { createInstrumentation } from './compose/instrumentation.ts';
import { createHttpApp, type HttpApp } from './http/app.ts';
import { createCsrf } from './http/middleware/csrf.ts';
import { createAccountSecurity } from './domain/account-security.ts';
import { createSessionIndex } from './oidc/session-index.ts';
import { createViews } from './http/views.ts';
import { createLogger } from './logger.ts';
import { createAdapterFactory } from './oidc/adapter.ts';
import { createProvider } from './oidc/provider.ts';
import { ACCOUNT_CLIENT_ID, accountClientMetadata } from './oidc/account-client.ts';
import { createSystemClock, systemPause, type Clock } from './ports/clock.ts';
import { createCryptoRandom, type Random } from './ports/random.ts';
import type { AuditEvent, AuditStore, ClientStore, OrganizationStore, UserStore } from './ports/stores.ts';
import { createArgon2Hasher } from './security/argon2-hasher.ts';
import { createCookieSigner } from './security/cookie-signer.ts';
import { createKeyedHash } from './security/keyed-hash.ts';
import { createSecretBox } from './security/secret-box.ts';
import { openStorage } from './storage/open.ts';
import { createFactors, createSender, type ExtraFactorDeps } from './compose/factors.ts';
import { createRouters } from './compose/routes.ts';
import { createLegacyAccess } from './compose/legacy.ts';
import { createMailer, createNotices } from './compose/mail.ts';
import type { SecurityNotices } from './domain/security-notices.ts';
import { createDeviceCookies } from './domain/device-cookies.ts';
import type { Factor } from './factors/factor.ts';
import { createRecoveryCodes, type RecoveryCodes } from './factors/recovery-codes/recovery-codes.ts';
import { createFactorRegistry, type FactorRegistry } from './factors/registry.ts';
import { createMethods } from './domain/methods.ts';
import type { FactorStore } from './ports/factor-stores.ts';
import { createSqlFactorStore } from './storage/sql/factor-store.ts';
import { createSqlRecoveryCodeStore } from './storage/sql/recovery-code-store.ts';
import { createFinishSignIn } from './http/routes/sign-in-completion.ts';
import { createPasswordExpiry } from './http/routes/password-expiry.ts';
import { createSignInFlow } from './domain/sign-in-flow.ts';
import { createTfaRequirement } from './domain/tfa-requirement.ts';
import { createTrustedBrowsers } from './domain/trusted-browsers.ts';
import { createSqlTrustedBrowserStore } from './storage/sql/trusted-browser-store.ts';
import { createSqlAuditStore } from './storage/sql/audit-store.ts';
import { createSqlClientStore } from './storage/sql/client-store.ts';
import { createSqlOrganizationStore } from './storage/sql/organization-store.ts';
import { createSqlPersonTokenStore } from './storage/sql/person-token-store.ts';
import { createSqlSetupStore } from './storage/sql/setup-store.ts';
import { createSqlUserStore } from './storage/sql/user-store.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

export interface AppOptions {
  clock?: Clock;
  random?: Random;
  logger?: Logger;
  /** PostgreSQL schema to use (tests isolate each file in its own). */
  postgresSchema?: string;
  /** SQLite file name; defaults to <dataDir>/twofold.db. */
  sqliteFilename?: string;
  /** Factors beyond the built-in ones (tests prove the flows generic with one), and where their views are. */
  extraFactors?: Array<(deps: ExtraFactorDeps) => Factor>;
  extraViewRoots?: string[];
}

export interface TwofoldApp {
  config: Config;
  koa: HttpApp;
  provider: Provider;
  logger: Logger;
  services: {
    accounts: Accounts;
    organizations: Organizations;
    setup: Setup;
    clients: Clients;
    audit: Audit;
    tfaReset: TfaReset;
    appPasswords: AppPasswords;
    people: People;
    notices: SecurityNotices;
    personStatus: PersonStatus;
  };
  factors: { store: FactorStore; registry: FactorRegistry; recovery: RecoveryCodes };
  stores: { users: UserStore; organizations: OrganizationStore; clients: ClientStore; audit: AuditStore };
  /** Applies pending database migrations; returns their names. */
  migrate(): Promise<string[]>;
  /** Stops timers and closes database and Redis connections. */
  close(): Promise<void>;
}

/** The composition root: stores → services → provider → Koa. Opens connections but does not listen. */
export async function createApp(config: Config, options: AppOptions = {}): Promise<TwofoldApp> {
  const clock = options.clock ?? createSystemClock();
  const random = options.random ?? createCryptoRandom();
  const logger = options.logger ?? createLogger(config.logLevel);
  mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
  const secrets = loadSecrets(config);
  const instruments = await createInstrumentation(config);
  const storage = instruments.storage(
    await openStorage(config, clock, {
      postgresSchema: options.postgresSchema,
      sqliteFilename: options.sqliteFilename ?? path.join(config.dataDir, 'twofold.db'),
      onOutage: (store, error) => {
        instruments.recordOutage(store);
        logger.warn({ err: error, store }, 'store connection failed; reconnecting');
      },
    }),
  );
  const { db, transactions } = storage.sql;

  const box = createSecretBox(secrets.encryptionKey);
  const keyedHash = createKeyedHash(secrets.hmacPepper);
  const stores = instruments.stores({
    users: createSqlUserStore(db),
    organizations: createSqlOrganizationStore(db),
    clients: createSqlClientStore(db),
  });
  const auditStore = instruments.store('audit', createSqlAuditStore(db));
  const requestContext = createRequestContext();
  const mailer = createMailer(config, clock, logger);
  // The registry is built below (its factors record events); notices are sent only after start-up.
  const methodName = (kind: string) => registry.get(kind)?.name ?? kind;
  const notices = createNotices({ config, users: stores.users, mailer, logger, methodName });
  const onRecorded = (event: AuditEvent) => {
    notices.notify(event);
    instruments.recordEvent(event);
  };
  const audit = createAudit({ store: auditStore, clock, random, context: requestContext, onRecorded, transactions });
  // Each purpose counts on its own: codes never slow down passwords, nor the other way round.
  const throttleFor = (purpose: string) =>
    createThrottle({ counter: storage.counter, clock, pause: systemPause, purpose, rules: config.throttle });
  const passwordThrottle = throttleFor('password');
  const accounts = createAccounts({
    users: stores.users,
    hasher: instruments.hasher(createArgon2Hasher(config.passwords.argon2)),
    policy: createPasswordPolicy(),
    throttle: passwordThrottle,
    audit,
    clock,
    random,
    defaults: config.passwords,
  });
  const organizations = createOrganizations({
    store: stores.organizations,
    audit,
    transactions,
    clock,
    random,
    // The registry is built below, before any request or command can change a policy.
    methods: { all: () => registry.all(), enrollableFor: (org, role) => registry.enrollableFor(org, role) },
  });
  const setup = createSetup({
    setupStore: createSqlSetupStore(db),
    organizationStore: stores.organizations,
    organizations,
    accounts,
    audit,
    keyedHash,
    clock,
    random,
    issuer: config.issuer,
    linkTtlSeconds: config.setup.linkTtlSeconds,
  });

  const isFirstParty = async (clientId: string) =>
    clientId === ACCOUNT_CLIENT_ID || ((await stores.clients.findClient(clientId))?.firstParty ?? false);
  const views = createViews({ roots: [path.join(ROOT, 'views'), ...(options.extraViewRoots ?? [])], cache: true });
  const provider = createProvider({
    config,
    clock,
    cookieKeys: createCookieSigner(secrets.cookieKeys),
    jwks: secrets.jwks,
    adapter: createAdapterFactory({
      models: storage.models,
      clients: stores.clients,
      box,
      keyedHash,
      builtIn: [accountClientMetadata(config.issuer)],
    }),
    users: stores.users,
    views,
    isFirstParty,
    isIntrospector: async (clientId) => (await stores.clients.findClient(clientId))?.introspection ?? false,
    needsEnrolment: (account) => requirement.mustEnrol(account),
  });
  const clients = createClients({
    reservedIds: [ACCOUNT_CLIENT_ID],
    store: stores.clients,
    box,
    clock,
    random,
    validateMetadata: async (metadata) => provider.Client.validate(metadata as never),
  });

  const factorStore = createSqlFactorStore(db);
  const recovery = createRecoveryCodes({
    store: createSqlRecoveryCodeStore(db, random),
    keyedHash,
    clock,
    random,
    audit,
  });
  const personTokens = createSqlPersonTokenStore(db);
  const accessCodes = createAccessCodes({ tokens: personTokens, keyedHash, clock, random, audit });
  const registry = createFactorRegistry(
    createFactors({
      config,
      store: factorStore,
      organizations: stores.organizations,
      recovery,
      accessCodes,
      storage,
      box,
      keyedHash,
      clock,
      random,
      sender: createSender(config, clock, logger),
      extra: { store: factorStore, ephemeral: storage.ephemeral, clock, random },
      extraFactors: options.extraFactors ?? [],
    }),
  );
  const factors = { store: factorStore, registry, recovery };
  const methods = createMethods({ store: factorStore, registry });
  const trustedBrowsers = createTrustedBrowsers({ store: createSqlTrustedBrowserStore(db), keyedHash, clock, random });
  const requirement = createTfaRequirement({ factors: factorStore, registry, clock });
  const flow = createSignInFlow({
    factors: factorStore,
    ephemeral: storage.ephemeral,
    trustedBrowsers,
    requirement,
    registry,
    clock,
  });
  const secondFactorThrottle = throttleFor('second-factor');
  const secureCookies = config.issuer.startsWith('https:');
  const csrf = createCsrf({ key: secrets.cookieKeys[0]!, random, secureCookies });
  const deviceCookies = createDeviceCookies({ keyedHash, clock, random, secure: secureCookies });
  const passwordExpiry = createPasswordExpiry({
    finish: createFinishSignIn({ provider, trustedBrowsers, audit, secureCookies, deviceCookies }),
    provider,
    accounts,
    ephemeral: storage.ephemeral,
    views,
    csrf,
    clock,
    maxPasswordLength: config.passwords.maxLength,
  });
  const finishSignIn = passwordExpiry.finishSignIn;
  const signIn = {
    provider,
    flow,
    requirement,
    methods,
    registry,
    audit,
    csrf,
    finishSignIn,
    deviceCookies,
    throttle: secondFactorThrottle,
  };
  const legacy = createLegacyAccess({
    config,
    provider,
    sql: storage.sql,
    clients: stores.clients,
    accounts,
    methods,
    counter: storage.counter,
    keyedHash,
    audit,
    clock,
    random,
    logger,
  });
  const security = createAccountSecurity({
    factors: factorStore,
    registry,
    recovery,
    trustedBrowsers,
    audit,
    auditStore,
  });
  const sessionIndex = createSessionIndex({
    provider,
    models: storage.models,
    ephemeral: storage.ephemeral,
    clock,
    sessionTtlSeconds: config.ttl.session,
    logger,
  });
  const administration = createAdministration({
    sql: storage.sql,
    users: stores.users,
    auditStore,
    factors: factorStore,
    registry,
    personTokens,
    appPasswords: legacy.appPasswords,
    access: sessionIndex,
    throttles: { password: passwordThrottle, secondFactor: secondFactorThrottle, appPassword: legacy.throttle },
    audit,
    clock,
  });
  const { people, tfaReset, personStatus } = administration;
  const koa = createHttpApp({
    provider,
    instruments: instruments.http,
    requestContext,
    views,
    logger,
    random,
    trustProxy: config.trustProxy,
    issuer: config.issuer,
    setupPending: () => setup.isPending(),
    routers: createRouters({
      config,
      root: ROOT,
      provider,
      views,
      csrf,
      storage,
      clientStore: stores.clients,
      accounts,
      audit,
      setup,
      signIn,
      passwordExpiryRoutes: passwordExpiry.routes,
      recovery,
      security,
      sessionIndex,
      clients,
      legacy,
      organizations,
      ...administration,
      accessCodes,
      mailer,
      users: stores.users,
      personTokens,
      trustedBrowsers,
      keyedHash,
      random,
      clock,
      secureCookies,
    }),
  });

  const housekeeping = startHousekeeping({
    sweep: () => storage.sweep(),
    flushUses: () => legacy.uses.flush(),
    flushSeconds: config.legacy.useFlushSeconds,
    logger,
  });

  return {
    config,
    koa,
    provider,
    logger,
    services: {
      accounts,
      organizations,
      setup,
      clients,
      audit,
      tfaReset,
      appPasswords: legacy.appPasswords,
      people,
      notices,
      personStatus,
    },
    factors,
    stores: { ...stores, audit: auditStore },
    migrate: () => storage.sql.migrate(),
    async close() {
      housekeeping.stop();
      await legacy.uses.flush();
      // Notices still being prepared read the database: let them finish (the SMTP timeouts bound it).
      await notices.settled();
      await Promise.all([storage.close(), instruments.close()]);
    },
  };
}
