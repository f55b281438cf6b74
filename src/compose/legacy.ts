import type Provider from 'oidc-provider';
import type { Logger } from 'pino';

import type { Config } from '../config/load.ts';
import type { Accounts } from '../domain/accounts.ts';
import { createAppPasswords, type AppPasswords } from '../domain/app-passwords.ts';
import type { Audit } from '../domain/audit.ts';
import {
  createLegacySignIn,
  createUseRecorder,
  type LegacySignIn,
  type UseRecorder,
} from '../domain/legacy-sign-in.ts';
import type { Methods } from '../domain/methods.ts';
import { createThrottle, type Throttle } from '../domain/throttle.ts';
import { registerPasswordGrant } from '../oidc/password-grant.ts';
import type { AttemptCounter } from '../ports/attempt-counter.ts';
import { systemPause, type Clock } from '../ports/clock.ts';
import type { KeyedHash } from '../ports/keyed-hash.ts';
import type { Random } from '../ports/random.ts';
import type { ClientStore } from '../ports/stores.ts';
import { createSqlAppPasswordStore } from '../storage/sql/app-password-store.ts';
import type { SqlDatabase } from '../storage/sql/database.ts';

export interface LegacyAccess {
  appPasswords: AppPasswords;
  legacy: LegacySignIn;
  uses: UseRecorder;
  /** The password grant's failure budget (an administrator clears a person's count). */
  throttle: Throttle;
}

/** App passwords, the legacy sign-in behind the password grant, and the grant itself on the provider. */
export function createLegacyAccess(deps: {
  config: Config;
  provider: Provider;
  /** The durable database: its stores, and one transaction for writes that belong together. */
  sql: Pick<SqlDatabase, 'db' | 'transactions'>;
  clients: ClientStore;
  accounts: Accounts;
  methods: Methods;
  counter: AttemptCounter;
  keyedHash: KeyedHash;
  audit: Audit;
  clock: Clock;
  random: Random;
  logger: Logger;
}): LegacyAccess {
  const { config, keyedHash, audit, clock, random } = deps;
  const store = createSqlAppPasswordStore(deps.sql.db);
  const uses = createUseRecorder({
    store,
    onError: (error) => deps.logger.warn({ err: error }, 'recording app password uses failed'),
  });
  // A budget of its own: a mail server's failures never slow its people's web sign-in.
  // A budget of its own: a mail server's failures never slow its people's web sign-in.
  const throttle = createThrottle({
    counter: deps.counter,
    clock,
    pause: systemPause,
    purpose: 'legacy',
    rules: config.throttle,
  });
  const legacy = createLegacySignIn({
    store,
    accounts: deps.accounts,
    hasTfa: (account) => deps.methods.hasAny({ orgId: account.organization.id, userId: account.user.id }),
    keyedHash,
    throttle,
    uses,
    clock,
  });
  const tokens = registerPasswordGrant(deps.provider, {
    legacy,
    clients: deps.clients,
    clock,
    grantTtlSeconds: config.ttl.grant,
  });
  const appPasswords = createAppPasswords({
    store,
    tokens,
    keyedHash,
    audit,
    clock,
    random,
    transactions: deps.sql.transactions,
  });
  return { appPasswords, legacy, uses, throttle };
}
