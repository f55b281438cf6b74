import { chmodSync, closeSync, existsSync, openSync } from 'node:fs';
import { DatabaseSync, type SQLInputValue } from 'node:sqlite';
import {
  CompiledQuery,
  SqliteAdapter,
  SqliteIntrospector,
  SqliteQueryCompiler,
  type DatabaseConnection,
  type Dialect,
  type Driver,
  type QueryResult,
  type SqliteDatabase,
  type SqliteStatement,
} from 'kysely';

/**
 * Kysely's SQLite dialect expects a better-sqlite3 shaped database. `node:sqlite` ships with
 * Node 24 (no compiled addon), so this adapts its DatabaseSync to that interface.
 */
type AdaptedDatabase = SqliteDatabase & { prepare(sql: string): SqliteStatement };

function adaptDatabase(db: DatabaseSync): AdaptedDatabase {
  // Kysely sends the same SQL text for the same query shape: preparing once saves most of the
  // per-query cost (it was the largest item in the sign-in profile). Bounded, oldest dropped.
  const cache = new Map<string, SqliteStatement>();
  const params = (parameters: ReadonlyArray<unknown>) => parameters.map(toSqlValue);
  return {
    close: () => db.close(),
    prepare(sql: string): SqliteStatement {
      const cached = cache.get(sql);
      if (cached) return cached;
      const statement = db.prepare(sql);
      const adapted: SqliteStatement = {
        // A statement that yields columns is a reader (SELECT, or anything with RETURNING).
        reader: statement.columns().length > 0,
        all: (parameters) => statement.all(...params(parameters)),
        run: (parameters) => statement.run(...params(parameters)),
        iterate: (parameters) => statement.iterate(...params(parameters)),
      };
      if (cache.size >= STATEMENT_CACHE_SIZE) cache.delete(cache.keys().next().value!);
      cache.set(sql, adapted);
      return adapted;
    },
  };
}

const STATEMENT_CACHE_SIZE = 256;

function toSqlValue(value: unknown): SQLInputValue {
  if (typeof value === 'boolean') return value ? 1 : 0;
  if (value === undefined) return null;
  return value as SQLInputValue;
}

/**
 * The database holds password hashes, sealed secrets and live sessions: only its owner may read it,
 * whatever the directory's mode or the umask (issue 8). The file is created 0600 before SQLite
 * opens it, so it is never readable by others even for a moment; an existing file is narrowed.
 */
function createOwnerOnly(filename: string): void {
  closeSync(openSync(filename, 'a', 0o600));
  chmodSync(filename, 0o600);
}

/** SQLite gives its -wal and -shm files the database's mode; narrowing them too costs nothing. */
function narrowSidecars(filename: string): void {
  for (const sidecar of [`${filename}-wal`, `${filename}-shm`]) if (existsSync(sidecar)) chmodSync(sidecar, 0o600);
}

/**
 * Statements run straight on the connection, without Kysely's building, compiling and connection
 * hand-off (several promise turns a statement): the hot stores' raw SQL (see statements.ts). Only
 * when nobody holds the connection: a statement runs synchronously to its end, so it cannot land
 * inside someone else's transaction. `undefined` means "not now: go through Kysely".
 */
export interface DirectSqlite {
  all(sql: string, parameters: readonly unknown[]): unknown[] | undefined;
  run(sql: string, parameters: readonly unknown[]): { changes: number } | undefined;
}

/**
 * Kysely's SQLite driver, with the one connection's lock kept where the direct path can see it:
 * held from acquire to release (a transaction holds it from begin to commit), handed to the next
 * waiter in turn.
 */
class NodeSqliteDriver implements Driver {
  #open: () => Promise<AdaptedDatabase>;
  #db?: AdaptedDatabase;
  #held = false;
  #waiters: (() => void)[] = [];
  readonly direct: DirectSqlite;

  constructor(open: () => Promise<AdaptedDatabase>) {
    this.#open = open;
    const free = () => this.#db !== undefined && !this.#held;
    this.direct = {
      all: (sql, parameters) => (free() ? (this.#db!.prepare(sql).all(parameters) as unknown[]) : undefined),
      run: (sql, parameters) =>
        free() ? { changes: Number(this.#db!.prepare(sql).run(parameters).changes ?? 0) } : undefined,
    };
  }

  async init() {
    this.#db = await this.#open();
  }

  async acquireConnection(): Promise<DatabaseConnection> {
    if (this.#held) await new Promise<void>((resolve) => this.#waiters.push(resolve));
    this.#held = true;
    return this.#connection();
  }

  async releaseConnection() {
    const next = this.#waiters.shift();
    if (next)
      next(); // the lock passes straight to the next in line
    else this.#held = false;
  }

  #connection(): DatabaseConnection {
    const db = this.#db!;
    return {
      async executeQuery<R>(query: CompiledQuery): Promise<QueryResult<R>> {
        const statement = db.prepare(query.sql);
        if (statement.reader) return { rows: statement.all(query.parameters) as R[] };
        const { changes, lastInsertRowid } = statement.run(query.parameters);
        return {
          numAffectedRows: changes == null ? undefined : BigInt(changes),
          insertId: lastInsertRowid == null ? undefined : BigInt(lastInsertRowid),
          rows: [],
        };
      },
      streamQuery() {
        throw new Error('streaming is not used with SQLite');
      },
    };
  }

  async beginTransaction(connection: DatabaseConnection) {
    await connection.executeQuery(CompiledQuery.raw('begin'));
  }

  async commitTransaction(connection: DatabaseConnection) {
    await connection.executeQuery(CompiledQuery.raw('commit'));
  }

  async rollbackTransaction(connection: DatabaseConnection) {
    await connection.executeQuery(CompiledQuery.raw('rollback'));
  }

  async destroy() {
    this.#db?.close();
  }
}

/** Opens (or creates) a SQLite database file in WAL mode, or `:memory:` for tests. */
export function createNodeSqliteDialect(filename: string): { dialect: Dialect; direct: DirectSqlite } {
  const inMemory = filename === ':memory:';
  const driver = new NodeSqliteDriver(async () => {
    if (!inMemory) createOwnerOnly(filename);
    const db = new DatabaseSync(filename);
    // WAL lets the CLI write while the server reads; busy_timeout waits out short write locks.
    if (!inMemory) {
      db.exec('PRAGMA journal_mode = WAL');
      narrowSidecars(filename);
    }
    db.exec('PRAGMA busy_timeout = 5000');
    db.exec('PRAGMA foreign_keys = ON');
    db.exec('PRAGMA synchronous = NORMAL');
    return adaptDatabase(db);
  });
  // Kysely's SQLite dialect (its compiler, adapter and introspector) around this driver.
  const dialect: Dialect = {
    createAdapter: () => new SqliteAdapter(),
    createDriver: () => driver,
    createQueryCompiler: () => new SqliteQueryCompiler(),
    createIntrospector: (db) => new SqliteIntrospector(db),
  };
  return { dialect, direct: driver.direct };
}
