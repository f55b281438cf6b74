import { createActivity, type Activity } from '../domain/activity.ts';
import type { AppPasswords } from '../domain/app-passwords.ts';
import type { Audit } from '../domain/audit.ts';
import { createEnrolmentGrace, type EnrolmentGrace } from '../domain/enrolment-grace.ts';
import { createPeople, type People } from '../domain/people.ts';
import { createPersonStatus, type PersonStatus } from '../domain/person-status.ts';
import { createSignInThrottles, type SignInThrottles } from '../domain/sign-in-throttles.ts';
import { createTfaReset, type TfaReset } from '../domain/tfa-reset.ts';
import type { Throttle } from '../domain/throttle.ts';
import type { FactorRegistry } from '../factors/registry.ts';
import type { AccountAccess } from '../ports/account-access.ts';
import type { Clock } from '../ports/clock.ts';
import type { FactorStore } from '../ports/factor-stores.ts';
import type { PersonTokenStore } from '../ports/person-token-store.ts';
import type { AuditStore, UserStore } from '../ports/stores.ts';
import { createSqlPersonStatusStore } from '../storage/sql/person-status-store.ts';
import type { SqlDatabase } from '../storage/sql/database.ts';

/** The Activity pages show this many events a page; an export reads at most this many, so many at a time. */
const ACTIVITY_PAGE_SIZE = 50;
const ACTIVITY_EXPORT_LIMIT = 100_000;
const ACTIVITY_EXPORT_PAGE_SIZE = 500;

/** What administrators act through (issue 9): the directory, resets, account status, throttles, the trail, grace. */
export interface Administration {
  people: People;
  tfaReset: TfaReset;
  personStatus: PersonStatus;
  signInThrottles: SignInThrottles;
  activity: Activity;
  enrolmentGrace: EnrolmentGrace;
}

/** Builds the administrators' services over the stores and services the rest of the app already has. */
export function createAdministration(deps: {
  /** The durable database: its stores, and one transaction for writes that belong together. */
  sql: Pick<SqlDatabase, 'db' | 'transactions'>;
  users: UserStore;
  auditStore: AuditStore;
  factors: FactorStore;
  registry: FactorRegistry;
  personTokens: PersonTokenStore;
  appPasswords: AppPasswords;
  access: AccountAccess;
  throttles: { password: Throttle; secondFactor: Throttle; appPassword: Throttle };
  audit: Audit;
  clock: Clock;
}): Administration {
  const { users, factors, audit, clock } = deps;
  return {
    people: createPeople({
      users,
      factors,
      registry: deps.registry,
      auditStore: deps.auditStore,
      appPasswords: deps.appPasswords,
      clock,
    }),
    tfaReset: createTfaReset({
      factors,
      appPasswords: deps.appPasswords,
      audit,
      access: deps.access,
      transactions: deps.sql.transactions,
    }),
    personStatus: createPersonStatus({
      store: createSqlPersonStatusStore(deps.sql.db),
      tokens: deps.personTokens,
      access: deps.access,
      audit,
      clock,
    }),
    signInThrottles: createSignInThrottles({ ...deps.throttles, audit }),
    activity: createActivity({
      store: deps.auditStore,
      users,
      audit,
      pageSize: ACTIVITY_PAGE_SIZE,
      exportLimit: ACTIVITY_EXPORT_LIMIT,
      exportPageSize: ACTIVITY_EXPORT_PAGE_SIZE,
    }),
    enrolmentGrace: createEnrolmentGrace({ users, factors, audit, clock }),
  };
}
