import { CompiledQuery } from 'kysely';

import type { DirectSqlite } from './node-sqlite-dialect.ts';
import type { Database } from './tables.ts';

/**
 * Hand-written SQL for the hot paths (oidc-provider's artifacts, attempt counters, short-lived
 * values): the same text on SQLite and PostgreSQL, `?` for each parameter (never inside a string
 * literal). On SQLite, when the connection is free and no transaction of the caller's is open, it
 * runs straight on the prepared statement; otherwise, and on PostgreSQL (`?` numbered `$1`, `$2`…),
 * through Kysely as a compiled query, so it joins the ambient transaction like any other statement.
 */
export interface Statements {
  all<Row>(text: string, parameters: readonly unknown[]): Promise<Row[]>;
  /** The number of rows changed. */
  run(text: string, parameters: readonly unknown[]): Promise<number>;
}

const registered = new WeakMap<Database, Statements>();

/** The statements of the database `db` was opened on (openSqlDatabase registers them). */
export function statementsOf(db: Database): Statements {
  const statements = registered.get(db);
  if (!statements) throw new Error('statementsOf: this database was not opened by openSqlDatabase');
  return statements;
}

export function registerStatements(db: Database, statements: Statements): void {
  registered.set(db, statements);
}

/**
 * The SQL text of a query the builder makes for this database's dialect, built once: a hot lookup
 * keeps the builder's typed columns and runs as a statement, its values given in the order the
 * builder placed them (build it with placeholder values of the same shape).
 */
export function sqlOf(query: { compile(): CompiledQuery }): string {
  return query.compile().sql;
}

function numbered(text: string): string {
  let n = 0;
  return text.replace(/\?/g, () => `$${++n}`);
}

export function createStatements(
  db: Database,
  options: { numbered: boolean; direct?: DirectSqlite; inTransaction?: () => boolean },
): Statements {
  const texts = new Map<string, string>();
  const textOf = (text: string) => {
    if (!options.numbered) return text;
    let converted = texts.get(text);
    if (converted === undefined) texts.set(text, (converted = numbered(text)));
    return converted;
  };
  const viaKysely = (text: string, parameters: readonly unknown[]) =>
    db.executeQuery(CompiledQuery.raw(textOf(text), [...parameters]));
  const canGoDirect = () => options.direct !== undefined && !options.inTransaction?.();
  return {
    async all<Row>(text: string, parameters: readonly unknown[]) {
      const rows = canGoDirect() ? options.direct!.all(text, parameters) : undefined;
      return (rows ?? (await viaKysely(text, parameters)).rows) as Row[];
    },
    async run(text, parameters) {
      const result = canGoDirect() ? options.direct!.run(text, parameters) : undefined;
      if (result) return result.changes;
      return Number((await viaKysely(text, parameters)).numAffectedRows ?? 0);
    },
  };
}
