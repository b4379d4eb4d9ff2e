import { randomBytes } from 'crypto';
import { Client } from 'pg';
import { startEmbeddedPostgres } from '../../src/store/embedded-postgres';

export interface BenchDatabase {
  name: string;
  /** The bench database, as the (super)user the service connects with. */
  url: string;
  /** Where it lives: DATABASE_URL's server, or the embedded one. */
  server: 'DATABASE_URL' | 'embedded';
  serverVersion: string;
  settings: Record<string, string>;
  /** Drops the database (and stops the embedded server); safe to call twice. */
  drop(): Promise<void>;
}

const SETTINGS = [
  'max_connections',
  'shared_buffers',
  'synchronous_commit',
  'fsync',
  'wal_level',
  'max_wal_size',
];

/** The URL of another database on the same server. */
export function withDatabase(base: string, database: string): string {
  const url = new URL(base);
  url.pathname = `/${database}`;
  return url.toString();
}

async function adminQuery<T extends Record<string, unknown>>(
  adminUrl: string,
  sql: string,
): Promise<T[]> {
  const client = new Client({ connectionString: adminUrl });
  await client.connect();
  try {
    return (await client.query<T>(sql)).rows;
  } finally {
    await client.end();
  }
}

/**
 * A fresh database `sync_bench_<random>` on the PostgreSQL at DATABASE_URL, or
 * on an embedded PostgreSQL of the bench's own (.data/bench-postgres) when
 * DATABASE_URL is unset. Empty: the service migrates it at start-up.
 */
export async function createBenchDatabase(log: (line: string) => void): Promise<BenchDatabase> {
  let adminUrl = process.env.DATABASE_URL?.trim() || undefined;
  let stopEmbedded: (() => Promise<void>) | undefined;
  let server: BenchDatabase['server'] = 'DATABASE_URL';
  if (!adminUrl) {
    server = 'embedded';
    const port = Number(process.env.BENCH_PG_PORT ?? 54331);
    log(`DATABASE_URL is not set: starting an embedded PostgreSQL on port ${port}`);
    const embedded = await startEmbeddedPostgres({
      dir: process.env.BENCH_PG_DIR ?? '.data/bench-postgres',
      port,
      database: 'postgres',
    });
    adminUrl = embedded.url;
    stopEmbedded = () => embedded.stop();
  }
  const name = `sync_bench_${randomBytes(5).toString('hex')}`;
  try {
    await dropStale(adminUrl).catch(() => undefined);
    await adminQuery(adminUrl, `CREATE DATABASE ${name}`);
  } catch (error) {
    await stopEmbedded?.();
    throw error;
  }
  const settings: Record<string, string> = {};
  const [{ server_version: serverVersion }] = await adminQuery<{ server_version: string }>(
    adminUrl,
    'SHOW server_version',
  );
  for (const setting of SETTINGS) {
    const [row] = await adminQuery<Record<string, string>>(adminUrl, `SHOW ${setting}`);
    settings[setting] = row[setting];
  }
  let dropped = false;
  return {
    name,
    url: withDatabase(adminUrl, name),
    server,
    serverVersion,
    settings,
    drop: async () => {
      if (dropped) return;
      dropped = true;
      try {
        await adminQuery(adminUrl, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
        log(`dropped database ${name}`);
      } finally {
        await stopEmbedded?.();
      }
    },
  };
}

/** Bench databases of earlier runs that were killed before they could drop theirs (older than an hour). */
async function dropStale(adminUrl: string): Promise<void> {
  const rows = await adminQuery<{ datname: string }>(
    adminUrl,
    `SELECT datname FROM pg_database
      WHERE datname ~ '^sync_bench_[0-9a-f]+$'
        AND (pg_stat_file('base/' || oid || '/PG_VERSION', true)).modification < now() - interval '1 hour'`,
  );
  for (const { datname } of rows) {
    await adminQuery(adminUrl, `DROP DATABASE IF EXISTS ${datname} WITH (FORCE)`);
  }
}
