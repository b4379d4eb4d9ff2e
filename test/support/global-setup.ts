import 'reflect-metadata';
import { randomBytes } from 'crypto';
import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { loadConfig } from '../../src/config/app-config';
import { dataSourceOptions } from '../../src/store/data-source-options';
import { startEmbeddedPostgres } from '../../src/store/embedded-postgres';
import { databaseUrl } from './postgres-env';

/**
 * Once per jest run: a PostgreSQL (DATABASE_URL, else an embedded one) and a
 * migrated template database that every test file clones into its own database.
 */
export default async function globalSetup(): Promise<void> {
  let admin = process.env.DATABASE_URL;
  if (!admin) {
    const embedded = await startEmbeddedPostgres({
      dir: process.env.EMBEDDED_PG_TEST_DIR ?? '.data/test-postgres',
      port: Number(process.env.EMBEDDED_PG_TEST_PORT ?? 54330),
      database: 'postgres',
    });
    (globalThis as Record<string, unknown>).__embeddedPostgres = embedded;
    admin = embedded.url;
  }
  const template = `sync_tpl_${randomBytes(4).toString('hex')}`;
  const client = new Client({ connectionString: admin });
  await client.connect();
  try {
    await dropStale(client).catch(() => undefined);
    await client.query(`CREATE DATABASE ${template}`);
  } finally {
    await client.end();
  }
  const { database } = loadConfig({ DATABASE_URL: databaseUrl(template, admin) });
  const source = new DataSource({
    ...dataSourceOptions(database, databaseUrl(template, admin)),
    poolSize: 1,
  });
  await source.initialize();
  try {
    await source.runMigrations({ transaction: 'each' });
  } finally {
    await source.destroy();
  }
  process.env.SYNC_TEST_ADMIN_URL = admin;
  process.env.SYNC_TEST_TEMPLATE = template;
}

/** Databases of earlier runs that were killed before their teardown (older than an hour). */
async function dropStale(client: Client): Promise<void> {
  const { rows } = await client.query<{ datname: string }>(
    `SELECT datname FROM pg_database
      WHERE datname ~ '^sync_(tpl|test)_[0-9a-f]+$'
        AND (pg_stat_file('base/' || oid || '/PG_VERSION', true)).modification < now() - interval '1 hour'`,
  );
  for (const { datname } of rows) {
    await client.query(`DROP DATABASE IF EXISTS ${datname} WITH (FORCE)`).catch(() => undefined);
  }
}
