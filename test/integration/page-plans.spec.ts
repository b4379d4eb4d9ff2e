import 'reflect-metadata';
import { START } from '../../src/store/log-position';
import { TransactionHost } from '../../src/store/transaction-host';
import { createStoreContext, StoreContext } from '../support/store-context';
import { createTestDatabase, TestDatabase } from '../support/test-database';

interface PlanNode {
  'Node Type': string;
  'Index Name'?: string;
  Plans?: PlanNode[];
}

function indexesOf(node: PlanNode): string[] {
  return [
    ...(node['Index Name'] ? [node['Index Name']] : []),
    ...(node.Plans ?? []).flatMap(indexesOf),
  ];
}

/**
 * Page statements are prepared, so after five runs on a connection PostgreSQL may keep one
 * generic plan for all cursors. That plan must read the user's own index range: one that
 * walked the log by transaction id (the sweep's index) read every user's rows above the
 * cursor, and from the epoch that was the whole log (60 ms against 1.5 ms per page on
 * 192,000 rows).
 */
describe('the generic plan of a page', () => {
  let db: TestDatabase;
  let store: StoreContext;

  beforeAll(async () => {
    db = await createTestDatabase();
    await db.pool
      .query(`INSERT INTO sync_changes (app_id, table_name, record_id, user_id, op, data, client_id)
      SELECT 'todo', 'todos', 'r' || g, 'busy-' || (g % 32), 'insert', '{"a":1}', 'c'
        FROM generate_series(1, 50000) g`);
    await db.pool
      .query(`INSERT INTO sync_changes (app_id, table_name, record_id, user_id, op, data, client_id)
      SELECT 'todo', 'todos', 'n' || g, 'newcomer', 'insert', '{}', 'c' FROM generate_series(1, 5) g`);
    await db.pool.query('ANALYZE sync_changes');
    store = await createStoreContext(db.url);
  });

  afterAll(async () => {
    await store.close();
    await db.drop();
  });

  it.each([
    ['one collection', 'todos'],
    ['every collection', undefined],
  ])('reads the user’s index range, never the log by transaction id (%s)', async (_, table) => {
    const host = store.context.get(TransactionHost);
    const spy = jest.spyOn(TransactionHost.prototype, 'query');
    const plan = await store.runner.runAsUser({ userId: 'newcomer', spaceIds: [] }, async () => {
      await host.query(`SELECT set_config('plan_cache_mode', 'force_generic_plan', true)`);
      const page = await store.changes.changesSince({
        appId: 'todo',
        tableName: table,
        after: START,
        limit: 1001,
        maxBytes: 4 * 1024 * 1024,
        excludeClientId: 'x',
      });
      expect(page.rows).toHaveLength(5);
      const [, , name] = spy.mock.calls.find(([text]) => text.includes('"pieceNo"'))!;
      spy.mockRestore();
      expect(name).toMatch(/^sync_page_/);
      const [row] = await host.query<{ 'QUERY PLAN': { Plan: PlanNode }[] }>(
        `EXPLAIN (FORMAT JSON) EXECUTE ${name}('newcomer', 'todo', 0, 0${table ? `, '${table}'` : ''}, 'x', 1001, ${4 * 1024 * 1024})`,
      );
      return row['QUERY PLAN'][0].Plan;
    });
    const used = indexesOf(plan);
    expect(used.length).toBeGreaterThan(0);
    expect(used).not.toContain('idx_sync_changes_tx');
    expect(used.every((index) => /cursor/.test(index))).toBe(true);
  });
});
