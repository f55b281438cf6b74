import { createRequire } from 'node:module';

import type { PostgresPool, PostgresPoolClient } from 'kysely';
import type Pg from 'pg';

import { StoreUnavailableError } from '../../ports/store-unavailable.ts';
import { UnstorableTextError } from '../../ports/unstorable-text.ts';

/** How the pool reaches PostgreSQL and how long anything may take (config `database.*`). */
export interface PostgresSettings {
  url: string;
  /** A schema per test file (or per tenant of a shared server) keeps data apart. */
  schema?: string;
  poolSize: number;
  connectTimeoutMs: number;
  /** null: no limit (migrations, which may build an index on a large table). */
  queryTimeoutMs: number | null;
  /** Told about connections that failed while idle in the pool (a database restart); the pool replaces them. */
  onIdleError(error: Error): void;
}

let loaded: typeof Pg | undefined;
/** pg, required on first use: a node on SQLite never loads it (memory, issue 11). */
const pg = () => (loaded ??= createRequire(import.meta.url)('pg') as typeof Pg);

/** BIGINT (oid 20) holds epoch milliseconds, well inside Number's exact range. */
const INT8_OID = 20;
const pgTypes = {
  getTypeParser: ((oid: number, format?: string) =>
    oid === INT8_OID ? Number : pg().types.getTypeParser(oid, format as 'text')) as typeof Pg.types.getTypeParser,
};

/**
 * SQLSTATE classes that mean the server cannot serve right now rather than that the statement was
 * wrong: 08 connection exception, 53 insufficient resources, 57 operator intervention (shutdown,
 * restart, statement_timeout's query_canceled).
 */
const UNAVAILABLE_CLASSES = /^(08|53|57)/;

/**
 * Whether an error of the pool or of a query means the database is unavailable. An answer of the
 * server's own (a constraint, a syntax error: any SQLSTATE outside those classes) is the caller's
 * to handle; no answer at all (refused, reset, timed out, terminated) is an outage.
 */
function isOutage(error: unknown): boolean {
  if (error instanceof pg().DatabaseError) return UNAVAILABLE_CLASSES.test(error.code ?? '');
  return error instanceof Error && !(error instanceof TypeError) && !(error instanceof RangeError);
}

/** The message and SQLSTATE of a pool error, without the client pg-pool attaches to it. */
function describe(error: Error): Error {
  const code = (error as { code?: unknown }).code;
  return Object.assign(new Error(error.message), typeof code === 'string' ? { code } : {});
}

/** SQLSTATE 22021 (character_not_in_repertoire): a NUL in a text parameter, which PostgreSQL never holds. */
const UNSTORABLE_TEXT = '22021';

const unavailable = (error: unknown) => {
  if (error instanceof pg().DatabaseError && error.code === UNSTORABLE_TEXT)
    return new UnstorableTextError(describe(error));
  return isOutage(error) ? new StoreUnavailableError('database', describe(error as Error)) : error;
};

/**
 * A client lent to Kysely. After an outage on it (its connection failed or a statement got no
 * answer) it refuses at once, so a transaction's ROLLBACK does not wait a second time, and goes
 * back to the pool destroyed instead of being lent again with a statement still pending.
 */
function lend(client: Pg.PoolClient): PostgresPoolClient {
  let broken: StoreUnavailableError | undefined;
  // A connection that dies while lent emits 'error' on its client: unheard, it would end the process.
  const onError = (error: Error) => void (broken ??= new StoreUnavailableError('database', describe(error)));
  client.on('error', onError);
  const query = async (sql: string, parameters: readonly unknown[]) => {
    if (broken) throw broken;
    try {
      return await client.query(sql, [...parameters]);
    } catch (error) {
      const translated = unavailable(error);
      if (translated instanceof StoreUnavailableError) broken ??= translated;
      throw translated;
    }
  };
  return {
    // Only statements: Kysely streams through a cursor, which this dialect is not given.
    query: query as unknown as PostgresPoolClient['query'],
    release(destroy) {
      client.removeListener('error', onError);
      client.release(broken ?? destroy);
    },
  };
}

/**
 * The pg pool behind Kysely, bounded in every way an outage could hang a request: connecting (or
 * waiting for a free connection), each statement on the server (statement_timeout) and on the
 * wire (query_timeout, for a server that does not answer at all), and TCP keep-alive so a dead peer
 * is noticed. Connections closed by the server while idle are logged and replaced, never fatal.
 */
export function createPostgresPool(settings: PostgresSettings): PostgresPool {
  const timeouts =
    settings.queryTimeoutMs === null
      ? {}
      : {
          statement_timeout: settings.queryTimeoutMs,
          // The server's own timeout answers first when it can; this one is for when it cannot.
          query_timeout: settings.queryTimeoutMs + 1000,
        };
  const pool = new (pg().Pool)({
    connectionString: settings.url,
    max: settings.poolSize,
    connectionTimeoutMillis: settings.connectTimeoutMs,
    keepAlive: true,
    types: pgTypes,
    ...timeouts,
    ...(settings.schema ? { options: `-c search_path=${settings.schema}` } : {}),
  });
  // pg-pool hangs the whole client (its connection settings included) on the error: pass on only what it says.
  pool.on('error', (error) => settings.onIdleError(describe(error)));
  return {
    async connect() {
      try {
        return lend(await pool.connect());
      } catch (error) {
        throw unavailable(error);
      }
    },
    end: () => pool.end(),
  };
}
