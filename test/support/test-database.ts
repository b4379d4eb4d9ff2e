import { randomBytes } from 'crypto';
import { Client, Pool } from 'pg';
import { adminUrl, databaseUrl, templateName } from './postgres-env';

export interface TestDatabase {
  name: string;
  /** Connects as the tests' (super)user, like the service does. */
  url: string;
  /** A pool on the database as that user: for arranging and inspecting rows behind the service's back. */
  pool: Pool;
  drop(): Promise<void>;
}

/** A fresh, migrated database of this test file's own: cloned from the run's template, dropped after. */
export function createTestDatabase(): Promise<TestDatabase> {
  return createDatabase(`TEMPLATE ${templateName()}`);
}

/** An empty database (no migrations), for migration tests. */
export function createEmptyDatabase(): Promise<TestDatabase> {
  return createDatabase('');
}

async function createDatabase(options: string): Promise<TestDatabase> {
  const name = `sync_test_${randomBytes(6).toString('hex')}`;
  await adminQuery(`CREATE DATABASE ${name} ${options}`);
  const url = databaseUrl(name);
  const pool = new Pool({ connectionString: url, max: 4 });
  // pg's advice for every pool: an idle client the server ends (a restart, a terminated backend)
  // must not become an unhandled 'error' that fails whichever test happens to run.
  pool.on('error', () => undefined);
  return {
    name,
    url,
    pool,
    drop: async () => {
      await pool.end();
      await adminQuery(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    },
  };
}

export async function adminQuery(sql: string): Promise<void> {
  const client = new Client({ connectionString: adminUrl() });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}
