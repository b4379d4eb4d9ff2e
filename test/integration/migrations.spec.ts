import 'reflect-metadata';
import { readFileSync } from 'fs';
import { join } from 'path';
import { DataSource } from 'typeorm';
import { MIGRATIONS } from '../../migrations';
import { loadConfig } from '../../src/config/app-config';
import { textOf } from '../../src/common/json-text';
import { dataSourceOptions } from '../../src/store/data-source-options';
import { START } from '../../src/store/log-position';
import { createStoreContext } from '../support/store-context';
import { adminQuery, createEmptyDatabase, TestDatabase } from '../support/test-database';

const GO_DDL = readFileSync(join(__dirname, '../fixtures/mana-sync-schema.sql'), 'utf8');

async function migrationSource(url: string): Promise<DataSource> {
  const { database } = loadConfig({ DATABASE_URL: url });
  return new DataSource({ ...dataSourceOptions(database, url), poolSize: 2 }).initialize();
}

/** Everything a migration could change, as comparable text. */
async function schemaSnapshot(db: TestDatabase): Promise<string> {
  const parts = await Promise.all([
    db.pool.query(`SELECT column_name, data_type, is_nullable, column_default
                     FROM information_schema.columns WHERE table_name = 'sync_changes'
                    ORDER BY column_name`),
    db.pool.query(`SELECT indexname, indexdef FROM pg_indexes
                    WHERE tablename = 'sync_changes' ORDER BY indexname`),
    db.pool.query(`SELECT policyname, cmd, qual, with_check FROM pg_policies
                    WHERE tablename = 'sync_changes' ORDER BY policyname`),
    db.pool.query(
      `SELECT relrowsecurity, relforcerowsecurity FROM pg_class WHERE relname = 'sync_changes'`,
    ),
    db.pool
      .query(`SELECT grantee, column_name, privilege_type FROM information_schema.column_privileges
                    WHERE table_name = 'sync_changes' ORDER BY grantee, column_name, privilege_type`),
  ]);
  return JSON.stringify(parts.map((p) => p.rows));
}

describe('migrations', () => {
  let db: TestDatabase;

  beforeEach(async () => {
    db = await createEmptyDatabase();
  });

  afterEach(async () => {
    await db.drop();
  });

  it('creates the seed schema: columns, four indexes (one partial), forced RLS, both policies', async () => {
    const source = await migrationSource(db.url);
    await source.runMigrations();
    await source.destroy();

    const { rows: indexes } = await db.pool.query<{ indexname: string; indexdef: string }>(
      `SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'sync_changes'`,
    );
    const names = indexes.map((i) => i.indexname);
    expect(names).toEqual(
      expect.arrayContaining([
        'idx_sync_changes_user_app',
        'idx_sync_changes_table_record',
        'idx_sync_changes_since',
        'idx_sync_changes_user_space_app_since',
      ]),
    );
    expect(
      indexes.find((i) => i.indexname === 'idx_sync_changes_user_space_app_since')!.indexdef,
    ).toMatch(/WHERE \(space_id IS NOT NULL\)/);
    const { rows: policies } = await db.pool.query(
      `SELECT policyname, cmd FROM pg_policies WHERE tablename = 'sync_changes' ORDER BY policyname`,
    );
    expect(policies).toEqual([
      { policyname: 'sync_changes_compaction_delete', cmd: 'DELETE' },
      { policyname: 'sync_changes_compaction_select', cmd: 'SELECT' },
      { policyname: 'sync_changes_compaction_update', cmd: 'UPDATE' },
      { policyname: 'sync_changes_observer_select', cmd: 'SELECT' },
      { policyname: 'sync_changes_space_member_read', cmd: 'SELECT' },
      { policyname: 'sync_changes_space_member_write', cmd: 'INSERT' },
      { policyname: 'sync_changes_user_isolation', cmd: 'ALL' },
    ]);
    const { rows: rls } = await db.pool.query(
      `SELECT relrowsecurity, relforcerowsecurity FROM pg_class WHERE relname = 'sync_changes'`,
    );
    expect(rls).toEqual([{ relrowsecurity: true, relforcerowsecurity: true }]);
    const { rows: role } = await db.pool.query(
      `SELECT rolsuper, rolbypassrls, rolcanlogin FROM pg_roles WHERE rolname = 'sync_app'`,
    );
    expect(role).toEqual([{ rolsuper: false, rolbypassrls: false, rolcanlogin: false }]);
    const { rows: grants } = await db.pool.query(
      `SELECT privilege_type FROM information_schema.role_table_grants
        WHERE table_name = 'sync_changes' AND grantee = 'sync_app' ORDER BY privilege_type`,
    );
    expect(grants.map((g) => g.privilege_type)).toEqual(['SELECT']);
    // It may append, but not choose the cursor position (tx_id, seq), update or delete.
    const { rows: columns } = await db.pool.query(
      `SELECT column_name FROM information_schema.column_privileges
        WHERE table_name = 'sync_changes' AND grantee = 'sync_app' AND privilege_type = 'INSERT'`,
    );
    const insertable = columns.map((c) => c.column_name);
    expect(insertable).toEqual(expect.arrayContaining(['id', 'user_id', 'data', 'space_id']));
    expect(insertable).not.toContain('tx_id');
    expect(insertable).not.toContain('seq');
  });

  it('running twice changes nothing', async () => {
    const source = await migrationSource(db.url);
    expect((await source.runMigrations()).length).toBe(MIGRATIONS.length);
    const before = await schemaSnapshot(db);
    expect(await source.runMigrations()).toEqual([]);
    await source.destroy();
    expect(await schemaSnapshot(db)).toBe(before);
  });

  it('adopts a database created by the Go server without losing a row', async () => {
    await db.pool.query(GO_DDL);
    await db.pool.query(GO_DDL); // the Go server runs it on every start
    await db.pool.query(`
      INSERT INTO sync_changes (app_id, table_name, record_id, user_id, space_id, op, data, field_meta,
                                client_id, created_at, actor, origin)
      SELECT 'todo', 'tasks', 'rec-' || i, 'user-' || (i % 3), CASE WHEN i % 5 = 0 THEN 'space-1' END,
             'insert', jsonb_build_object('title', 'Task ' || i), '{}', 'go-client',
             timestamptz '2026-01-01' + i * interval '1 second', '{"kind":"user"}', 'user'
        FROM generate_series(1, 1500) i`);
    const before = (
      await db.pool.query(`SELECT id, data, created_at FROM sync_changes ORDER BY id`)
    ).rows;

    const source = await migrationSource(db.url);
    await source.runMigrations();
    await source.destroy();

    const after = (await db.pool.query(`SELECT id, data, created_at FROM sync_changes ORDER BY id`))
      .rows;
    expect(after).toEqual(before);
    // Adopted rows precede every new one, in their original order.
    const { rows: order } = await db.pool.query(
      `SELECT bool_and(tx_id = 0) AS adopted,
              bool_and(prev IS NULL OR prev < created_at) AS ordered
         FROM (SELECT tx_id, created_at, lag(created_at) OVER (ORDER BY seq) AS prev FROM sync_changes) s`,
    );
    expect(order).toEqual([{ adopted: true, ordered: true }]);

    // Queryable through the service's store, under RLS: user-1 sees only its 500 rows.
    const store = await createStoreContext(db.url);
    const page = await store.runner.runAsUser({ userId: 'user-1', spaceIds: [] }, () =>
      store.changes.changesSince({ appId: 'todo', after: START, excludeClientId: '', limit: 5000 }),
    );
    await store.close();
    const { rows: own } = await db.pool.query(
      `SELECT id::text FROM sync_changes WHERE user_id = 'user-1' ORDER BY tx_id, seq`,
    );
    expect(page.rows.map((r) => JSON.parse(textOf(r.wire)).eventId)).toEqual(own.map((r) => r.id));
    expect(own).toHaveLength(500);
  });

  it('reverts every migration and runs them again', async () => {
    const source = await migrationSource(db.url);
    await source.runMigrations();
    for (let i = 0; i < MIGRATIONS.length; i++) await source.undoLastMigration();
    const { rows } = await db.pool.query(`SELECT to_regclass('sync_changes') AS t`);
    expect(rows).toEqual([{ t: null }]);
    expect((await source.runMigrations()).length).toBe(MIGRATIONS.length);
    await source.destroy();
    const { rows: count } = await db.pool.query(`SELECT count(*)::int AS n FROM sync_changes`);
    expect(count).toEqual([{ n: 0 }]);
  });

  it('stops with one line naming the SQL a DBA must run when the user may not create roles', async () => {
    const user = `${db.name}_owner`;
    // A password too, for servers (like the embedded one) that do not trust local users.
    await adminQuery(`CREATE ROLE ${user} LOGIN NOSUPERUSER NOCREATEROLE PASSWORD 'owner-secret'`);
    await adminQuery(`ALTER DATABASE ${db.name} OWNER TO ${user}`);
    await db.pool.query(`GRANT ALL ON SCHEMA public TO ${user}`);
    const url = new URL(db.url);
    url.username = user;
    url.password = 'owner-secret';
    const previous = process.env.DB_RLS_ROLE;
    process.env.DB_RLS_ROLE = `${db.name}_role`;
    try {
      const source = await migrationSource(url.toString());
      const failure = await source.runMigrations().catch((e: Error) => e);
      await source.destroy();
      expect(failure).toBeInstanceOf(Error);
      const message = (failure as Error).message;
      expect(message).not.toContain('\n');
      expect(message).toContain(
        `a DBA must run: CREATE ROLE ${db.name}_role NOLOGIN NOSUPERUSER NOBYPASSRLS; GRANT ${db.name}_role TO ${user};`,
      );
      // The failed migration left nothing half-done: only the two before it are recorded.
      const { rows } = await db.pool.query(`SELECT name FROM sync_migrations ORDER BY id`);
      expect(rows.map((r) => r.name)).toEqual([
        'InitialSchema1732700000000',
        'ChangeCursor1732700000001',
      ]);
      const { rows: grants } = await db.pool.query(
        `SELECT 1 FROM information_schema.role_table_grants WHERE table_name = 'sync_changes' AND grantee = $1`,
        [`${db.name}_role`],
      );
      expect(grants).toEqual([]);
    } finally {
      process.env.DB_RLS_ROLE = previous;
      await db.drop();
      await adminQuery(`DROP ROLE IF EXISTS ${user}`);
      db = await createEmptyDatabase();
    }
  });
});
