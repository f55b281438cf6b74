import { Kysely, Migrator, PostgresDialect, type Migration, type MigrationProvider } from 'kysely';

import * as initial from './migrations/0001-initial.ts';
import * as secondFactors from './migrations/0002-second-factors.ts';
import * as sessionsByAccount from './migrations/0003-sessions-by-account.ts';
import * as accountApiClients from './migrations/0004-account-api-clients.ts';
import * as appPasswords from './migrations/0005-app-passwords.ts';
import * as emailsComparedNfkc from './migrations/0006-emails-compared-nfkc.ts';
import * as adminConsole from './migrations/0007-admin-console.ts';
import * as enforcementStart from './migrations/0012-enforcement-start.ts';
import * as defaultCountry from './migrations/0013-default-country.ts';
import type { Transactions } from '../../ports/transactions.ts';
import { withAmbientTransactions } from './ambient-transactions.ts';
import { createNodeSqliteDialect } from './node-sqlite-dialect.ts';
import { createStatements, registerStatements } from './statements.ts';
import { createPostgresPool, type PostgresSettings } from './postgres-pool.ts';
import type { Database, Tables } from './tables.ts';

export type SqlTarget = { kind: 'sqlite'; filename: string } | ({ kind: 'postgres' } & PostgresTarget);

/** PostgreSQL's address and limits; the pool's size and timeouts default to config/default.json's. */
export type PostgresTarget = { url: string; schema?: string } & Partial<
  Pick<PostgresSettings, 'poolSize' | 'connectTimeoutMs' | 'queryTimeoutMs' | 'onIdleError'>
>;

export interface SqlDatabase {
  db: Database;
  kind: SqlTarget['kind'];
  /** One transaction for every store's writes made inside `run` (see ambient-transactions.ts). */
  transactions: Transactions;
  /** Applies pending migrations to this database (its own schema on PostgreSQL). */
  migrate(): Promise<string[]>;
  close(): Promise<void>;
}

const POSTGRES_DEFAULTS = { poolSize: 10, connectTimeoutMs: 3000, queryTimeoutMs: 5000, onIdleError: () => {} };

function openPostgres(target: PostgresTarget): SqlDatabase {
  const settings = { ...POSTGRES_DEFAULTS, ...target };
  const ambient = withAmbientTransactions(new PostgresDialect({ pool: createPostgresPool(settings) }));
  const db = new Kysely<Tables>({ dialect: ambient.dialect });
  // Migrations take a lock the other nodes wait on and may build indexes on large tables: they run
  // on a connection of their own, without the statement timeout that bounds a request.
  const migrate = async () => {
    const pool = createPostgresPool({ ...settings, poolSize: 1, queryTimeoutMs: null });
    const migrator = new Kysely<Tables>({ dialect: new PostgresDialect({ pool }) });
    try {
      return await migrateToLatest(migrator, target.schema);
    } finally {
      await migrator.destroy();
    }
  };
  const transactions = ambient.transactionsOf(db);
  registerStatements(db, createStatements(db, { numbered: true }));
  return { db, kind: 'postgres', transactions, migrate, close: () => db.destroy() };
}

export function openSqlDatabase(target: SqlTarget): SqlDatabase {
  if (target.kind === 'postgres') return openPostgres(target);
  const sqlite = createNodeSqliteDialect(target.filename);
  const ambient = withAmbientTransactions(sqlite.dialect);
  const db = new Kysely<Tables>({ dialect: ambient.dialect });
  const transactions = ambient.transactionsOf(db);
  registerStatements(
    db,
    createStatements(db, { numbered: false, direct: sqlite.direct, inTransaction: ambient.inTransaction }),
  );
  return { db, kind: 'sqlite', transactions, migrate: () => migrateToLatest(db), close: () => db.destroy() };
}

const migrations: Record<string, Migration> = {
  '0001-initial': initial,
  '0002-second-factors': secondFactors,
  '0003-sessions-by-account': sessionsByAccount,
  '0004-account-api-clients': accountApiClients,
  '0005-app-passwords': appPasswords,
  '0006-emails-compared-nfkc': emailsComparedNfkc,
  '0007-admin-console': adminConsole,
  '0012-enforcement-start': enforcementStart,
  '0013-default-country': defaultCountry,
};

const provider: MigrationProvider = { getMigrations: async () => migrations };

/**
 * Applies every pending migration; safe to run from several processes (Kysely takes a lock).
 * On PostgreSQL the bookkeeping tables live in the database's own schema: without
 * migrationTableSchema Kysely would find another schema's tables and skip creating its own.
 */
export async function migrateToLatest(db: Database, schema?: string): Promise<string[]> {
  const migrator = new Migrator({ db, provider, ...(schema ? { migrationTableSchema: schema } : {}) });
  const { error, results } = await migrator.migrateToLatest();
  if (error) throw error instanceof Error ? error : new Error(String(error));
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}
