import 'reflect-metadata';
import { observerRoleFromEnv } from '../../src/config/observer-role';
import { ChangeLog } from '../../src/store/change-log';
import { CommittedLogRepository } from '../../src/store/committed-log.repository';
import { HorizonRepository } from '../../src/store/horizon.repository';
import { createStoreContext, newChange, StoreContext } from '../support/store-context';
import { createTestDatabase, TestDatabase } from '../support/test-database';

/** What the log sweep reads, and the role it reads as (DB_OBSERVER_ROLE). */
describe('the committed log as the sweep reads it', () => {
  let db: TestDatabase;
  let store: StoreContext;
  let log: ChangeLog;
  let committed: CommittedLogRepository;
  let horizons: HorizonRepository;

  beforeAll(async () => {
    db = await createTestDatabase();
    store = await createStoreContext(db.url);
    log = store.context.get(ChangeLog);
    committed = store.context.get(CommittedLogRepository);
    horizons = store.context.get(HorizonRepository);
  });

  afterAll(async () => {
    await store.close();
    await db.drop();
  });

  it('finds who committed what in a range of transactions, final below the horizon', async () => {
    const from = (await horizons.sample()).horizon;
    const a = await store.runner.runAsUser({ userId: 'alice', spaceIds: ['team'] }, () =>
      log.append([
        newChange({ tableName: 'tasks', clientId: 'laptop' }),
        newChange({ tableName: 'notes', clientId: 'laptop', spaceId: 'team' }),
        newChange({ appId: 'other', tableName: 'x', clientId: 'laptop' }),
      ]),
    );
    const b = await store.runner.runAsUser({ userId: 'bob', spaceIds: [] }, () =>
      log.append([newChange({ tableName: 'tasks', clientId: 'phone' })]),
    );
    // Open, not committed: below the horizon nothing of it can be found, and it holds the horizon.
    const open = await db.pool.connect();
    try {
      await open.query('BEGIN');
      await open.query(
        `INSERT INTO sync_changes (app_id, table_name, record_id, user_id, op, data, client_id)
         VALUES ('todo', 'tasks', 'open-1', 'carol', 'insert', '{}', 'sql')`,
      );
      const below = (await horizons.sample()).horizon;
      expect(below).toBeGreaterThan(b.txId);
      const found = await committed.committedBetween(from, below, 100);
      const sorted = (list: string[]) => [...list].sort();
      expect(
        found.map((c) => ({ ...c, tables: sorted(c.tables), spaceIds: sorted(c.spaceIds) })),
      ).toEqual([
        {
          appId: 'other',
          userId: 'alice',
          clientId: 'laptop',
          tables: ['x'],
          spaceIds: [],
          txId: a.txId.toString(),
        },
        {
          appId: 'todo',
          userId: 'alice',
          clientId: 'laptop',
          tables: ['notes', 'tasks'],
          spaceIds: ['team'],
          txId: a.txId.toString(),
        },
        {
          appId: 'todo',
          userId: 'bob',
          clientId: 'phone',
          tables: ['tasks'],
          spaceIds: [],
          txId: b.txId.toString(),
        },
      ]);
      expect(found.some((c) => c.userId === 'carol')).toBe(false);
      // A range is half-open: from bob's transaction on, only bob's.
      expect((await committed.committedBetween(b.txId, below, 100)).map((c) => c.userId)).toEqual([
        'bob',
      ]);
      // At most `limit` entries, oldest first.
      expect((await committed.committedBetween(from, below, 1)).map((c) => c.appId)).toEqual([
        'other',
      ]);
    } finally {
      await open.query('ROLLBACK');
      open.release();
    }
  });

  it('reads as a role that sees who wrote what, never record data, and writes nothing', async () => {
    const role = observerRoleFromEnv();
    const client = await db.pool.connect();
    const asObserver = async (sql: string): Promise<unknown> => {
      await client.query('BEGIN');
      try {
        await client.query(`SELECT set_config('role', $1, true)`, [role]);
        return (await client.query(sql)).rows;
      } catch (error) {
        return (error as { code?: string }).code;
      } finally {
        await client.query('ROLLBACK');
      }
    };
    try {
      const users = (await asObserver(
        'SELECT DISTINCT user_id FROM sync_changes ORDER BY user_id',
      )) as { user_id: string }[];
      expect(users.map((u) => u.user_id)).toEqual(['alice', 'bob']);
      // 42501: insufficient privilege.
      for (const column of ['data', 'field_meta', 'actor', 'origin', 'record_id', 'id']) {
        expect(await asObserver(`SELECT ${column} FROM sync_changes LIMIT 1`)).toBe('42501');
      }
      expect(await asObserver(`DELETE FROM sync_changes`)).toBe('42501');
      expect(await asObserver(`UPDATE sync_changes SET client_id = 'x'`)).toBe('42501');
      expect(
        await asObserver(
          `INSERT INTO sync_changes (app_id, table_name, record_id, user_id, op, data, client_id)
           VALUES ('todo', 'tasks', 'forged', 'alice', 'insert', '{}', 'observer')`,
        ),
      ).toBe('42501');
      const { rows } = await client.query(
        `SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = $1`,
        [role],
      );
      expect(rows).toEqual([{ rolsuper: false, rolbypassrls: false }]);
    } finally {
      client.release();
    }
  });
});
