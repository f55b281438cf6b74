import { randomBytes } from 'node:crypto';
import pg from 'pg';

import { DATABASE_URL, postgresAvailable, testSchemaOf } from './helpers/backends.ts';

/**
 * Test files each get a PostgreSQL schema of their own (test/helpers/backends.ts createSchema).
 * They are dropped here, once every file has finished, not by each file: Kysely's migrator lists
 * the tables of every schema in the catalog, and a DROP SCHEMA running in another file at that
 * moment makes the listing fail with "schema … does not exist". Only this run's schemas are
 * dropped: another run (another checkout, the same machine) may be using its own.
 */
const run = randomBytes(3).toString('hex');

/** Names this run before the test files start (they inherit the environment). */
export function setup(): void {
  process.env.TWOFOLD_TEST_RUN = run;
}

export async function teardown(): Promise<void> {
  if (!postgresAvailable) return;
  const ours = testSchemaOf(run);
  const client = new pg.Client({ connectionString: DATABASE_URL });
  await client.connect();
  try {
    const { rows } = await client.query<{ nspname: string }>('select nspname from pg_namespace');
    for (const { nspname } of rows.filter((r) => ours.test(r.nspname))) {
      await client.query(`drop schema if exists ${nspname} cascade`);
    }
  } finally {
    await client.end();
  }
}
