import { chmodSync, closeSync, existsSync, openSync } from 'node:fs';
import { DatabaseSync, type SQLInputValue } from 'node:sqlite';
import { SqliteDialect, type SqliteDatabase, type SqliteStatement } from 'kysely';

/**
 * Kysely's SQLite dialect expects a better-sqlite3 shaped database. `node:sqlite` ships with
 * Node 24 (no compiled addon), so this adapts its DatabaseSync to that interface.
 */
function adaptDatabase(db: DatabaseSync): SqliteDatabase {
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

/** Opens (or creates) a SQLite database file in WAL mode, or `:memory:` for tests. */
export function createNodeSqliteDialect(filename: string): SqliteDialect {
  const inMemory = filename === ':memory:';
  return new SqliteDialect({
    database: async () => {
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
    },
  });
}
