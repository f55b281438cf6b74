import { Kysely, Migrator, PostgresDialect, type Migration, type MigrationProvider } from 'kysely';
import pg from 'pg';

import * as initial from './migrations/0001-initial.ts';
import * as secondFactors from './migrations/0002-second-factors.ts';
import * as sessionsByAccount from './migrations/0003-sessions-by-account.ts';
import * as accountApiClients from './migrations/0004-account-api-clients.ts';
import * as appPasswords from './migrations/0005-app-passwords.ts';
import * as emailsComparedNfkc from './migrations/0006-emails-compared-nfkc.ts';
import * as adminConsole from './migrations/0007-admin-console.ts';
import * as enforcementStart from './migrations/0012-enforcement-start.ts';
import { createNodeSqliteDialect } from './node-sqlite-dialect.ts';
import type { Database, Tables } from './tables.ts';

export type SqlTarget = { kind: 'sqlite'; filename: string } | { kind: 'postgres'; url: string; schema?: string };

export interface SqlDatabase {
  db: Database;
  kind: SqlTarget['kind'];
  /** Applies pending migrations to this database (its own schema on PostgreSQL). */
  migrate(): Promise<string[]>;
  close(): Promise<void>;
}

/** BIGINT (oid 20) holds epoch milliseconds, well inside Number's exact range. */
const INT8_OID = 20;
const pgTypes = {
  getTypeParser: ((oid: number, format?: string) =>
    oid === INT8_OID ? Number : pg.types.getTypeParser(oid, format as 'text')) as typeof pg.types.getTypeParser,
};

function postgresDialect(url: string, schema: string | undefined): PostgresDialect {
  const pool = new pg.Pool({
    connectionString: url,
    max: 10,
    connectionTimeoutMillis: 5000,
    types: pgTypes,
    // A schema per test file (or per tenant of a shared server) keeps data apart.
    ...(schema ? { options: `-c search_path=${schema}` } : {}),
  });
  return new PostgresDialect({ pool });
}

export function openSqlDatabase(target: SqlTarget): SqlDatabase {
  const dialect =
    target.kind === 'sqlite' ? createNodeSqliteDialect(target.filename) : postgresDialect(target.url, target.schema);
  const db = new Kysely<Tables>({ dialect });
  const schema = target.kind === 'postgres' ? target.schema : undefined;
  return { db, kind: target.kind, migrate: () => migrateToLatest(db, schema), close: () => db.destroy() };
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
