import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type Koa from 'koa';
import type Provider from 'oidc-provider';
import type { Logger } from 'pino';
import { sql } from 'kysely';

import type { Config } from './config/load.ts';
import { loadSecrets } from './config/secrets.ts';
import { createAccounts, type Accounts } from './domain/accounts.ts';
import { createAudit, type Audit } from './domain/audit.ts';
import { createClients, type Clients } from './domain/clients.ts';
import { createOrganizations, type Organizations } from './domain/organizations.ts';
import { createPasswordPolicy } from './domain/passwords/policy.ts';
import { createSetup, type Setup } from './domain/setup.ts';
import { createThrottle } from './domain/throttle.ts';
import { createHttpApp } from './http/app.ts';
import { createCsrf } from './http/middleware/csrf.ts';
import { assetRoutes } from './http/routes/assets.ts';
import { healthRoutes, type ReadinessCheck } from './http/routes/health.ts';
import { interactionRoutes } from './http/routes/interaction.ts';
import { setupRoutes } from './http/routes/setup.ts';
import { createViews } from './http/views.ts';
import { createLogger } from './logger.ts';
import { createAdapterFactory } from './oidc/adapter.ts';
import { createProvider } from './oidc/provider.ts';
import { createSystemClock, type Clock } from './ports/clock.ts';
import type { AttemptCounter } from './ports/attempt-counter.ts';
import type { OidcModelStore } from './ports/oidc-model-store.ts';
import { createCryptoRandom, type Random } from './ports/random.ts';
import type { ClientStore, OrganizationStore, UserStore } from './ports/stores.ts';
import { createArgon2Hasher } from './security/argon2-hasher.ts';
import { createKeyedHash } from './security/keyed-hash.ts';
import { createSecretBox } from './security/secret-box.ts';
import { createRedisAttemptCounter } from './storage/redis/attempt-counter.ts';
import { connectRedis, type RedisClient } from './storage/redis/client.ts';
import { createRedisOidcModelStore } from './storage/redis/oidc-model-store.ts';
import { createSqlAttemptCounter } from './storage/sql/attempt-counter.ts';
import { createSqlAuditStore } from './storage/sql/audit-store.ts';
import { createSqlClientStore } from './storage/sql/client-store.ts';
import { openSqlDatabase, type SqlDatabase } from './storage/sql/database.ts';
import { createSqlOidcModelStore } from './storage/sql/oidc-model-store.ts';
import { createSqlOrganizationStore } from './storage/sql/organization-store.ts';
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
}

export interface TwofoldApp {
  config: Config;
  koa: Koa;
  provider: Provider;
  logger: Logger;
  services: { accounts: Accounts; organizations: Organizations; setup: Setup; clients: Clients; audit: Audit };
  stores: { users: UserStore; organizations: OrganizationStore; clients: ClientStore };
  /** Applies pending database migrations; returns their names. */
  migrate(): Promise<string[]>;
  /** Stops timers and closes database and Redis connections. */
  close(): Promise<void>;
}

interface Storage {
  sql: SqlDatabase;
  redis: RedisClient | null;
  models: OidcModelStore;
  counter: AttemptCounter;
  checks: ReadinessCheck[];
  sweep(): Promise<void>;
}

async function openStorage(config: Config, clock: Clock, options: AppOptions): Promise<Storage> {
  const sqlDb = config.database.url
    ? openSqlDatabase({ kind: 'postgres', url: config.database.url, schema: options.postgresSchema })
    : openSqlDatabase({ kind: 'sqlite', filename: options.sqliteFilename ?? path.join(config.dataDir, 'twofold.db') });
  const checks: ReadinessCheck[] = [{ name: 'database', check: async () => void (await sql`select 1`.execute(sqlDb.db)) }];
  if (!config.redis.url) {
    const models = createSqlOidcModelStore(sqlDb.db, clock);
    const counter = createSqlAttemptCounter(sqlDb.db, clock);
    const sweep = async () => void (await Promise.all([models.sweepExpired(), counter.sweepExpired()]));
    return { sql: sqlDb, redis: null, models, counter, checks, sweep };
  }
  let redis: RedisClient;
  try {
    redis = await connectRedis(config.redis.url);
  } catch (error) {
    await sqlDb.close();
    throw new Error(`cannot connect to Redis at REDIS_URL: ${(error as Error).message}`);
  }
  const prefix = config.redis.keyPrefix;
  checks.push({ name: 'redis', check: async () => void (await redis.ping()) });
  return {
    sql: sqlDb,
    redis,
    models: createRedisOidcModelStore(redis, prefix, () => Math.floor(clock.now() / 1000)),
    counter: createRedisAttemptCounter(redis, prefix, clock),
    checks,
    sweep: async () => {},
  };
}

/** The composition root: stores → services → provider → Koa. Opens connections but does not listen. */
export async function createApp(config: Config, options: AppOptions = {}): Promise<TwofoldApp> {
  const clock = options.clock ?? createSystemClock();
  const random = options.random ?? createCryptoRandom();
  const logger = options.logger ?? createLogger(config.logLevel);
  mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
  const secrets = loadSecrets(config);
  const storage = await openStorage(config, clock, options);
  const { db } = storage.sql;

  const box = createSecretBox(secrets.encryptionKey);
  const keyedHash = createKeyedHash(secrets.hmacPepper);
  const stores = {
    users: createSqlUserStore(db),
    organizations: createSqlOrganizationStore(db),
    clients: createSqlClientStore(db),
  };
  const audit = createAudit({ store: createSqlAuditStore(db), clock, random });
  const accounts = createAccounts({
    users: stores.users,
    hasher: createArgon2Hasher(config.passwords.argon2),
    policy: createPasswordPolicy(),
    throttle: createThrottle({ counter: storage.counter, clock, purpose: 'password', rules: config.throttle }),
    audit,
    clock,
    random,
    defaults: config.passwords,
  });
  const organizations = createOrganizations({ store: stores.organizations, clock, random });
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

  const views = createViews({ root: path.join(ROOT, 'views'), cache: config.environment === 'production' });
  const provider = createProvider({
    config,
    cookieKeys: secrets.cookieKeys,
    jwks: secrets.jwks,
    adapter: createAdapterFactory({ models: storage.models, clients: stores.clients, box }),
    users: stores.users,
    views,
    isFirstParty: async (clientId) => (await stores.clients.findClient(clientId))?.firstParty ?? false,
  });
  const clients = createClients({
    store: stores.clients,
    box,
    clock,
    random,
    validateMetadata: async (metadata) => provider.Client.validate(metadata as never),
  });

  const csrf = createCsrf({ key: secrets.cookieKeys[0]!, random, secureCookies: config.issuer.startsWith('https:') });
  const koa = createHttpApp({
    provider,
    views,
    logger,
    random,
    trustProxy: config.trustProxy,
    routers: [
      assetRoutes({ root: path.join(ROOT, 'public') }),
      healthRoutes({ checks: storage.checks, timeoutMs: 2000 }),
      setupRoutes({ setup, views, csrf, issuer: config.issuer }),
      interactionRoutes({ provider, accounts, audit, views, csrf, clock, maxPasswordLength: config.passwords.maxLength }),
    ],
  });

  // Embedded mode keeps ephemeral rows in SQL; sweep the expired ones once a minute.
  const sweeper = setInterval(() => {
    storage.sweep().catch((error: unknown) => logger.warn({ err: error }, 'sweeping expired rows failed'));
  }, 60_000);
  sweeper.unref();

  return {
    config,
    koa,
    provider,
    logger,
    services: { accounts, organizations, setup, clients, audit },
    stores,
    migrate: () => storage.sql.migrate(),
    async close() {
      clearInterval(sweeper);
      if (storage.redis) await storage.redis.close();
      await storage.sql.close();
    },
  };
}
