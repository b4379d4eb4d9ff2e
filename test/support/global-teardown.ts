import { Client } from 'pg';
import type { EmbeddedPostgresHandle } from '../../src/store/embedded-postgres';

export default async function globalTeardown(): Promise<void> {
  const admin = process.env.SYNC_TEST_ADMIN_URL;
  const template = process.env.SYNC_TEST_TEMPLATE;
  if (admin && template) {
    const client = new Client({ connectionString: admin });
    await client.connect();
    await client.query(`DROP DATABASE IF EXISTS ${template} WITH (FORCE)`);
    await client.end();
  }
  const embedded = (globalThis as Record<string, unknown>).__embeddedPostgres as
    EmbeddedPostgresHandle | undefined;
  await embedded?.stop();
}
