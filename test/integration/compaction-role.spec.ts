import 'reflect-metadata';
import { DataSource } from 'typeorm';
import { loadConfig } from '../../src/config/app-config';
import { dataSourceOptions } from '../../src/store/data-source-options';
import { adminQuery, createEmptyDatabase, TestDatabase } from '../support/test-database';

async function migrationSource(url: string): Promise<DataSource> {
  const { database } = loadConfig({ DATABASE_URL: url });
  return new DataSource({ ...dataSourceOptions(database, url), poolSize: 2 }).initialize();
}

describe('compaction role migration', () => {
  let db: TestDatabase;
  let user: string;

  beforeAll(async () => {
    db = await createEmptyDatabase();
    user = `${db.name}_owner`;
    await adminQuery(`CREATE ROLE ${user} LOGIN NOSUPERUSER NOCREATEROLE PASSWORD 'owner-secret'`);
    await adminQuery(`ALTER DATABASE ${db.name} OWNER TO ${user}`);
    await db.pool.query(`GRANT ALL ON SCHEMA public TO ${user}`);
  });

  afterAll(async () => {
    await db.drop();
    for (const role of [user, `${db.name}_app`, `${db.name}_compactor`, `${db.name}_observer`]) {
      await adminQuery(`DROP ROLE IF EXISTS ${role}`);
    }
  });

  it('names the DBA SQL when the user may not create the role, and works once it ran', async () => {
    const url = new URL(db.url);
    url.username = user;
    url.password = 'owner-secret';
    const previous = {
      app: process.env.DB_RLS_ROLE,
      compactor: process.env.DB_COMPACTION_ROLE,
      observer: process.env.DB_OBSERVER_ROLE,
    };
    process.env.DB_RLS_ROLE = `${db.name}_app`;
    process.env.DB_COMPACTION_ROLE = `${db.name}_compactor`;
    process.env.DB_OBSERVER_ROLE = `${db.name}_observer`;
    try {
      // The DBA created the request and observer roles (README), not yet the compaction role.
      for (const role of [`${db.name}_app`, `${db.name}_observer`]) {
        await adminQuery(
          `CREATE ROLE ${role} NOLOGIN NOSUPERUSER NOBYPASSRLS; GRANT ${role} TO ${user};`,
        );
      }
      let source = await migrationSource(url.toString());
      const failure = await source.runMigrations().catch((e: Error) => e);
      await source.destroy();
      expect((failure as Error).message).toContain(
        `a DBA must run: CREATE ROLE ${db.name}_compactor NOLOGIN NOSUPERUSER NOBYPASSRLS; GRANT ${db.name}_compactor TO ${user};`,
      );
      await adminQuery(
        `CREATE ROLE ${db.name}_compactor NOLOGIN NOSUPERUSER NOBYPASSRLS; GRANT ${db.name}_compactor TO ${user};`,
      );
      source = await migrationSource(url.toString());
      const applied = await source.runMigrations();
      await source.destroy();
      // The run that failed stopped at the compaction role; it and every later migration apply now.
      expect(applied.map((m) => m.name)[0]).toBe('CompactionRole1732700000006');
      const { rows } = await db.pool.query(
        `SELECT r AS role,
                has_table_privilege(r, 'sync_changes', 'DELETE') AS delete,
                has_any_column_privilege(r, 'sync_changes', 'UPDATE') AS update,
                has_any_column_privilege(r, 'sync_changes', 'INSERT') AS insert
           FROM unnest($1::text[]) AS r`,
        [[`${db.name}_app`, `${db.name}_compactor`, `${db.name}_observer`]],
      );
      expect(rows).toEqual([
        { role: `${db.name}_app`, delete: false, update: false, insert: true },
        { role: `${db.name}_compactor`, delete: true, update: true, insert: false },
        { role: `${db.name}_observer`, delete: false, update: false, insert: false },
      ]);
    } finally {
      process.env.DB_RLS_ROLE = previous.app;
      process.env.DB_COMPACTION_ROLE = previous.compactor;
      process.env.DB_OBSERVER_ROLE = previous.observer;
      if (previous.app === undefined) delete process.env.DB_RLS_ROLE;
      if (previous.compactor === undefined) delete process.env.DB_COMPACTION_ROLE;
      if (previous.observer === undefined) delete process.env.DB_OBSERVER_ROLE;
    }
  });
});
