import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { StoreUnavailableError } from '../../src/ports/store-unavailable.ts';
import { openSqlDatabase, type SqlDatabase } from '../../src/storage/sql/database.ts';
import { DATABASE_URL, skipReason } from '../helpers/backends.ts';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.ts';

const skip = skipReason('postgres') !== null;

/** Issue 11: the PostgreSQL pool is as large as configured and bounded in time, and says when it is an outage. */
describe.skipIf(skip)('the PostgreSQL pool', () => {
  let database: SqlDatabase;
  let proxy: TcpProxy;
  let idleErrors: Error[];

  beforeAll(async () => {
    proxy = await startTcpProxy(DATABASE_URL);
    idleErrors = [];
    database = openSqlDatabase({
      kind: 'postgres',
      url: proxy.url,
      poolSize: 2,
      connectTimeoutMs: 500,
      queryTimeoutMs: 300,
      onIdleError: (error) => void idleErrors.push(error),
    });
  });
  afterAll(async () => {
    await proxy?.restore();
    await database?.close();
    await proxy?.close();
  });

  const backendPid = async () =>
    (await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(database.db)).rows[0]!.pid;

  it('opens no more connections than its size', async () => {
    // Generous timeouts: on a busy machine, waiting for one of two connections must not time out here.
    const sized = openSqlDatabase({ kind: 'postgres', url: DATABASE_URL, poolSize: 2, connectTimeoutMs: 20_000 });
    try {
      const pids = await Promise.all(
        Array.from(
          { length: 8 },
          async () =>
            (await sql<{ pid: number }>`select pg_backend_pid() as pid, pg_sleep(0.05)`.execute(sized.db)).rows[0]!.pid,
        ),
      );
      expect(new Set(pids).size).toBeLessThanOrEqual(2);
    } finally {
      await sized.close();
    }
  });

  it('cancels a statement that runs past the query timeout and reports the database unavailable', async () => {
    await expect(sql`select pg_sleep(2)`.execute(database.db)).rejects.toBeInstanceOf(StoreUnavailableError);
    expect(await backendPid()).toBeGreaterThan(0);
  });

  it("passes on the database's own refusals as they are: they are not outages", async () => {
    const refused = sql`select 1 / 0`.execute(database.db);
    await expect(refused).rejects.toMatchObject({ code: '22012' });
    await expect(refused).rejects.not.toBeInstanceOf(StoreUnavailableError);
  });

  it('reports connections closed under it while idle, and serves the next statement on a new one', async () => {
    await backendPid();
    proxy.cut();
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(idleErrors.length).toBeGreaterThan(0);
    // Only what the error says reaches the listener, not the connection that carried it.
    expect(Object.keys(idleErrors[0]!)).not.toContain('client');
    expect(await backendPid()).toBeGreaterThan(0);
  });

  it('gives up on a database that accepts connections but never answers, within the connect timeout', async () => {
    proxy.cut();
    proxy.stall();
    const started = Date.now();
    await expect(sql`select 1`.execute(database.db)).rejects.toBeInstanceOf(StoreUnavailableError);
    expect(Date.now() - started).toBeLessThan(5000);
    await proxy.restore();
    expect(await backendPid()).toBeGreaterThan(0);
  });
});
