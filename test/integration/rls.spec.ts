import 'reflect-metadata';
import type { PoolClient } from 'pg';
import type { PostgresDriver } from 'typeorm/driver/postgres/PostgresDriver';
import { TransactionHost } from '../../src/store/transaction-host';
import { createStoreContext, newChange, StoreContext } from '../support/store-context';
import { createTestDatabase, TestDatabase } from '../support/test-database';

/**
 * Row-level security of `sync_changes`, checked in SQL as the role the service
 * switches to, and then through the service's own transaction runner.
 */

interface Seed {
  user: string;
  space: string | null;
  record: string;
}

/** a: three rows (one in space s1); b: one private row, one in s1; c: one in s2. */
const SEED: Seed[] = [
  { user: 'a', space: null, record: 'a-1' },
  { user: 'a', space: null, record: 'a-2' },
  { user: 'a', space: 's1', record: 'a-3' },
  { user: 'b', space: null, record: 'b-private' },
  { user: 'b', space: 's1', record: 'b-in-s1' },
  { user: 'c', space: 's2', record: 'c-in-s2' },
];

const INSERT = `INSERT INTO sync_changes (app_id, table_name, record_id, user_id, space_id, op, data, client_id)
                VALUES ('todo', 'tasks', $1, $2, $3, 'insert', '{}', 'client-x')`;

describe('row-level security on sync_changes', () => {
  let db: TestDatabase;

  /** Runs `fn` in a transaction as the RLS role with the given settings, then rolls back. */
  async function asUser<T>(
    userId: string,
    spaceIds: string[],
    fn: (client: PoolClient) => Promise<T>,
  ): Promise<T> {
    const client = await db.pool.connect();
    try {
      await client.query('BEGIN');
      await client.query(
        `SELECT set_config('role', 'sync_app', true),
                set_config('app.current_user_id', $1, true),
                set_config('app.current_user_space_ids', $2, true)`,
        [userId, spaceIds.join(',')],
      );
      return await fn(client);
    } finally {
      await client.query('ROLLBACK');
      client.release();
    }
  }

  async function count(client: PoolClient): Promise<number> {
    const { rows } = await client.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM sync_changes',
    );
    return rows[0].n;
  }

  async function visibleRecords(client: PoolClient): Promise<string[]> {
    const { rows } = await client.query<{ record_id: string }>(
      'SELECT record_id FROM sync_changes ORDER BY record_id',
    );
    return rows.map((r) => r.record_id);
  }

  /** Counts behind RLS's back (superuser, no role switch). */
  async function countWhere(sql: string, params: unknown[]): Promise<number> {
    const { rows } = await db.pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM sync_changes WHERE ${sql}`,
      params,
    );
    return rows[0].n;
  }

  beforeAll(async () => {
    db = await createTestDatabase();
    for (const row of SEED) await db.pool.query(INSERT, [row.record, row.user, row.space]);
  });

  afterAll(async () => {
    await db?.drop();
  });

  describe('in SQL, as the sync_app role', () => {
    it('runs as a role that is neither superuser nor BYPASSRLS, on a superuser connection', async () => {
      const facts = await asUser('a', [], async (client) => {
        const { rows } = await client.query(
          `SELECT current_user AS "current", session_user AS "session",
                  (SELECT rolsuper FROM pg_roles WHERE rolname = session_user) AS "sessionSuper",
                  r.rolsuper AS "super", r.rolbypassrls AS "bypass"
             FROM pg_roles r WHERE r.rolname = current_user`,
        );
        return rows[0];
      });
      expect(facts).toEqual({
        current: 'sync_app',
        session: 'postgres',
        sessionSuper: true,
        super: false,
        bypass: false,
      });
    });

    it("(a) a SELECT without WHERE sees only the current user's rows", async () => {
      const seen = await asUser('a', [], visibleRecords);
      expect(seen).toEqual(['a-1', 'a-2', 'a-3']);
      expect(await asUser('b', [], count)).toBe(2);
      expect(await asUser('c', [], count)).toBe(1);
      expect(await asUser('nobody', [], count)).toBe(0);
    });

    it('(b) inserting a row for another user fails with 42501 and writes nothing', async () => {
      const error = await asUser('a', ['s1'], (client) =>
        client.query(INSERT, ['forged-for-b', 'b', 's1']).then(
          () => undefined,
          (e: Error & { code?: string }) => e,
        ),
      );
      expect(error).toMatchObject({ code: '42501' });
      expect(error?.message).toMatch(/row-level security/);
      // Being a member of s1 gives read access to b's rows there, not the right to write as b.
      expect(await countWhere('record_id = $1', ['forged-for-b'])).toBe(0);

      // The same statement for the user itself is accepted (and committed here on purpose).
      const client = await db.pool.connect();
      try {
        await client.query('BEGIN');
        await client.query(
          `SELECT set_config('role', 'sync_app', true), set_config('app.current_user_id', 'a', true)`,
        );
        await client.query(INSERT, ['a-own-insert', 'a', null]);
        await client.query('COMMIT');
      } finally {
        client.release();
      }
      expect(await countWhere('record_id = $1 AND user_id = $2', ['a-own-insert', 'a'])).toBe(1);
      await db.pool.query(`DELETE FROM sync_changes WHERE record_id = 'a-own-insert'`);
    });

    it("(c) another user's row is visible only when its space is in the member's setting", async () => {
      expect(await asUser('a', [], visibleRecords)).toEqual(['a-1', 'a-2', 'a-3']);
      expect(await asUser('a', ['s1'], visibleRecords)).toEqual(['a-1', 'a-2', 'a-3', 'b-in-s1']);
      expect(await asUser('a', ['s2'], visibleRecords)).toEqual(['a-1', 'a-2', 'a-3', 'c-in-s2']);
      expect(await asUser('a', ['s1', 's2'], visibleRecords)).toEqual([
        'a-1',
        'a-2',
        'a-3',
        'b-in-s1',
        'c-in-s2',
      ]);
      expect(await asUser('a', ['s3'], visibleRecords)).toEqual(['a-1', 'a-2', 'a-3']);
      // b's private row (no space) is never visible to a, whatever the spaces.
      expect(await asUser('a', ['s1', 's2', 's3'], visibleRecords)).not.toContain('b-private');
    });

    it.each([
      [
        'UPDATE of an own row',
        `UPDATE sync_changes SET data = '{"tampered":true}' WHERE record_id = 'a-1'`,
      ],
      ['DELETE of an own row', `DELETE FROM sync_changes WHERE record_id = 'a-1'`],
      ['TRUNCATE', 'TRUNCATE sync_changes'],
    ])('(d) %s is refused: the log is append-only', async (_name, sql) => {
      const error = await asUser('a', [], (client) =>
        client.query(sql).then(
          () => undefined,
          (e: Error & { code?: string }) => e,
        ),
      );
      expect(error).toMatchObject({ code: '42501' });
      expect(error?.message).toMatch(/permission denied/);
      const { rows } = await db.pool.query(`SELECT data FROM sync_changes WHERE record_id = 'a-1'`);
      expect(rows).toEqual([{ data: {} }]);
    });

    it('(e) without the role switch the superuser sees every row, although RLS is forced', async () => {
      const client = await db.pool.connect();
      try {
        await client.query('BEGIN');
        await client.query(`SELECT set_config('app.current_user_id', 'a', true)`);
        expect(await count(client)).toBe(SEED.length);
        const { rows } = await client.query(
          `SELECT relforcerowsecurity AS forced FROM pg_class WHERE relname = 'sync_changes'`,
        );
        expect(rows).toEqual([{ forced: true }]);
      } finally {
        await client.query('ROLLBACK');
        client.release();
      }
    });
  });

  describe("through the service's RlsTransactionRunner", () => {
    let store: StoreContext;

    beforeAll(async () => {
      store = await createStoreContext(db.url);
    });

    afterAll(async () => {
      await store?.close();
    });

    function query<T>(sql: string, params: unknown[] = []): Promise<T[]> {
      return store.context.get(TransactionHost).manager.query(sql, params) as Promise<T[]>;
    }

    it("(f) counts only the user's rows although the service connects as a superuser", async () => {
      const [connection] = await store.dataSource.query(
        `SELECT session_user AS "user", (SELECT rolsuper FROM pg_roles WHERE rolname = session_user) AS super`,
      );
      expect(connection).toEqual({ user: 'postgres', super: true });
      // The same count outside runAsUser sees everything: the scoping comes from the runner.
      const [all] = await store.dataSource.query('SELECT count(*)::int AS n FROM sync_changes');
      expect(all.n).toBe(SEED.length);

      const [a] = await store.runner.runAsUser({ userId: 'a', spaceIds: [] }, () =>
        query<{ n: number }>('SELECT count(*)::int AS n FROM sync_changes'),
      );
      expect(a.n).toBe(3);
      const [aWithSpace] = await store.runner.runAsUser({ userId: 'a', spaceIds: ['s1'] }, () =>
        query<{ n: number }>('SELECT count(*)::int AS n FROM sync_changes'),
      );
      expect(aWithSpace.n).toBe(4);
      const [who] = await store.runner.runAsUser({ userId: 'b', spaceIds: [] }, () =>
        query<{ role: string; user: string }>(
          `SELECT current_user AS role, current_setting('app.current_user_id') AS user`,
        ),
      );
      expect(who).toEqual({ role: 'sync_app', user: 'b' });
    });

    it('(g) an empty user id is rejected before any connection is taken, and none is taken before a statement', async () => {
      const pool = (store.dataSource.driver as PostgresDriver).master as {
        on(event: 'acquire', listener: () => void): void;
        off(event: 'acquire', listener: () => void): void;
      };
      let acquired = 0;
      const onAcquire = (): void => {
        acquired++;
      };
      pool.on('acquire', onAcquire);
      try {
        const fn = jest.fn(async () => 'ran');
        await expect(store.runner.runAsUser({ userId: '', spaceIds: ['s1'] }, fn)).rejects.toThrow(
          /empty user id/,
        );
        expect(fn).not.toHaveBeenCalled();
        expect(acquired).toBe(0);
        // A transaction takes its connection on its first statement, not before.
        await store.runner.runAsUser({ userId: 'a', spaceIds: [] }, fn);
        expect(fn).toHaveBeenCalledTimes(1);
        expect(acquired).toBe(0);
        // The listener does observe checkouts: a call that queries takes one connection.
        const host = store.context.get(TransactionHost);
        await store.runner.runAsUser({ userId: 'a', spaceIds: [] }, () => host.query('SELECT 1'));
        expect(acquired).toBe(1);
      } finally {
        pool.off('acquire', onAcquire);
      }
    });

    it('(h) an error after an insert rolls the whole transaction back', async () => {
      const failure = new Error('handler failed after writing');
      await expect(
        store.runner.runAsUser({ userId: 'a', spaceIds: [] }, async () => {
          const { inserted } = await store.changes.insertBatch([
            newChange({ recordId: 'rolled-back-1' }),
            newChange({ recordId: 'rolled-back-2' }),
          ]);
          expect(inserted).toBe(2);
          // Visible inside the transaction, so the insert really happened.
          const [inside] = await query<{ n: number }>(
            `SELECT count(*)::int AS n FROM sync_changes WHERE record_id LIKE 'rolled-back-%'`,
          );
          expect(inside.n).toBe(2);
          throw failure;
        }),
      ).rejects.toBe(failure);
      expect(await countWhere(`record_id LIKE 'rolled-back-%'`, [])).toBe(0);

      // Control: the same work without the error is committed, as user a.
      await store.runner.runAsUser({ userId: 'a', spaceIds: [] }, () =>
        store.changes.insertBatch([newChange({ recordId: 'committed-1' })]),
      );
      expect(await countWhere('record_id = $1 AND user_id = $2', ['committed-1', 'a'])).toBe(1);
    });
  });
});
