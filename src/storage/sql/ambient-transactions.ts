import { AsyncLocalStorage } from 'node:async_hooks';
import { CompiledQuery, type DatabaseConnection, type Dialect, type Driver, type TransactionSettings } from 'kysely';

import type { Transactions } from '../../ports/transactions.ts';

/** The transaction `run` opened: its connection, how deep the stores' own transactions nest in it, and what waits for its commit. */
interface Scope {
  /** False once the transaction has ended: work it left running (never awaited) no longer joins it. */
  open: boolean;
  connection?: DatabaseConnection;
  depth: number;
  effects: (() => void)[];
}

/**
 * A driver that lends the connection of the transaction `run` opened to every statement made inside
 * it, so that stores built on the plain `db` join it without being handed a transaction object; a
 * store's own `db.transaction()` in there becomes a savepoint. Outside a `run` it is the inner driver.
 */
function ambientDriver(inner: Driver, current: () => Scope | undefined): Driver {
  const owned = (connection: DatabaseConnection) => {
    const scope = current();
    return scope?.connection === connection ? scope : undefined;
  };
  const statement = (connection: DatabaseConnection, text: string) =>
    connection.executeQuery(CompiledQuery.raw(text)).then(() => {});
  return {
    init: () => inner.init(),
    async acquireConnection() {
      const scope = current();
      if (!scope) return inner.acquireConnection();
      scope.connection ??= await inner.acquireConnection();
      return scope.connection;
    },
    async beginTransaction(connection, settings: TransactionSettings) {
      const scope = owned(connection);
      if (!scope || scope.depth === 0) await inner.beginTransaction(connection, settings);
      else await statement(connection, `savepoint ambient_${scope.depth}`);
      if (scope) scope.depth += 1;
    },
    async commitTransaction(connection) {
      const scope = owned(connection);
      if (scope) scope.depth -= 1;
      if (!scope || scope.depth === 0) await inner.commitTransaction(connection);
      else await statement(connection, `release savepoint ambient_${scope.depth}`);
    },
    async rollbackTransaction(connection) {
      const scope = owned(connection);
      if (scope) scope.depth -= 1;
      if (!scope || scope.depth === 0) await inner.rollbackTransaction(connection);
      else await statement(connection, `rollback to savepoint ambient_${scope.depth}`);
    },
    async releaseConnection(connection) {
      const scope = owned(connection);
      // Statements inside the transaction give the connection back to it, not to the pool.
      if (scope && scope.depth > 0) return;
      if (scope) scope.connection = undefined;
      await inner.releaseConnection(connection);
    },
    destroy: () => inner.destroy(),
  };
}

/** The part of a Kysely instance `run` needs (any Kysely built with the wrapped dialect). */
interface TransactionOpener {
  transaction(): { execute<T>(callback: () => Promise<T>): Promise<T> };
}

/**
 * Wraps a dialect so that `Transactions.run` on a Kysely instance built with it makes every statement
 * of its work one transaction (SQLite and PostgreSQL alike). One scope store per database: no module state.
 */
export function withAmbientTransactions(dialect: Dialect): {
  dialect: Dialect;
  transactionsOf(db: TransactionOpener): Transactions;
  /** True inside `run`: statements must go through Kysely to join its transaction. */
  inTransaction(): boolean;
} {
  const scopes = new AsyncLocalStorage<Scope>();
  const current = () => {
    const scope = scopes.getStore();
    return scope?.open ? scope : undefined;
  };
  return {
    inTransaction: () => current() !== undefined,
    dialect: {
      createAdapter: () => dialect.createAdapter(),
      createDriver: () => ambientDriver(dialect.createDriver(), current),
      createQueryCompiler: () => dialect.createQueryCompiler(),
      createIntrospector: (db) => dialect.createIntrospector(db),
    },
    transactionsOf: (db) => ({
      async run(work) {
        if (current()) return work();
        const scope: Scope = { open: true, depth: 0, effects: [] };
        let result: Awaited<ReturnType<typeof work>>;
        try {
          result = await scopes.run(scope, () => db.transaction().execute(() => work()));
        } finally {
          scope.open = false;
        }
        // Committed: only now may the change be announced.
        for (const effect of scope.effects) effect();
        return result;
      },
      afterCommit(effect) {
        const scope = current();
        if (scope) scope.effects.push(effect);
        else effect();
      },
    }),
  };
}
