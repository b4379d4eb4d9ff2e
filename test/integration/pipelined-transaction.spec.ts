import 'reflect-metadata';
import { DatabaseConfig } from '../../src/config/app-config';
import { START } from '../../src/store/log-position';
import { RlsTransactionRunner } from '../../src/store/rls-transaction.runner';
import { TransactionHost } from '../../src/store/transaction-host';
import { createStoreContext, newChange, StoreContext } from '../support/store-context';
import { createTestDatabase, TestDatabase } from '../support/test-database';

const USER = { userId: 'user-1', spaceIds: [] };

/**
 * Statements of an RLS transaction are pipelined (RlsSession): issued together, they leave
 * in one write, and PostgreSQL answers the ones behind a failed statement with "transaction
 * aborted" (25P02) and a COMMIT after it with ROLLBACK. None of that may look like success.
 */
describe('pipelined RLS transactions', () => {
  let db: TestDatabase;
  let store: StoreContext;

  async function stored(recordIds: string[]): Promise<string[]> {
    const { rows } = await db.pool.query<{ record_id: string }>(
      'SELECT record_id FROM sync_changes WHERE record_id = ANY($1) ORDER BY record_id',
      [recordIds],
    );
    return rows.map((r) => r.record_id);
  }

  beforeAll(async () => {
    db = await createTestDatabase();
    store = await createStoreContext(db.url);
  });

  afterAll(async () => {
    await store.close();
    await db.drop();
  });

  it('a failed statement reports its own error to the statements sent behind it, and nothing stays', async () => {
    let insert: PromiseSettledResult<unknown> | undefined;
    let page: PromiseSettledResult<unknown> | undefined;
    const outcome = await store.runner
      .runAsUser(USER, async () => {
        const good = store.changes.insertBatch([newChange({ recordId: 'p-good' })]);
        // jsonb cannot hold \u0000: PostgreSQL refuses the second insert (22P05).
        const bad = store.changes.insertBatch([
          newChange({ recordId: 'p-bad', data: { title: 'nul \u0000' } }),
        ]);
        const read = store.changes.changesSince({ appId: 'todo', after: START, limit: 10 });
        [, insert, page] = await Promise.allSettled([good, bad, read]);
        return 'handler finished';
      })
      .catch((error: unknown) => error);
    expect(insert).toMatchObject({ status: 'rejected', reason: { code: '22P05' } });
    // Not 25P02 ("current transaction is aborted"): the cause, the same error.
    expect(page).toEqual({ status: 'rejected', reason: (insert as PromiseRejectedResult).reason });
    // The handler swallowed both, yet COMMIT answered ROLLBACK: the transaction fails with the cause.
    expect(outcome).toBe((insert as PromiseRejectedResult).reason);
    expect(await stored(['p-good', 'p-bad'])).toEqual([]);
  });

  it('a failure the handler swallowed is still the transaction’s failure: COMMIT never passes as success', async () => {
    const outcome = await store.runner
      .runAsUser(USER, async () => {
        await store.changes.insertBatch([newChange({ recordId: 'q-first' })]);
        await store.changes
          .insertBatch([newChange({ recordId: 'q-second', data: { title: 'nul \u0000' } })])
          .catch(() => undefined);
        return 'ok';
      })
      .catch((error: unknown) => error);
    expect(outcome).toMatchObject({ code: '22P05' });
    expect(await stored(['q-first', 'q-second'])).toEqual([]);
  });

  it('statements sent behind a failed scope statement never run, so none runs outside RLS', async () => {
    const config = store.context.get(DatabaseConfig);
    const broken = new RlsTransactionRunner(store.dataSource, store.context.get(TransactionHost), {
      ...config,
      rlsRole: 'no_such_role_here',
    } as DatabaseConfig);
    const outcome = await broken
      .runAsUser(USER, async () => {
        const insert = store.changes.insertBatch([newChange({ recordId: 'r-unscoped' })]);
        const read = store.changes.changesSince({ appId: 'todo', after: START, limit: 10 });
        await Promise.all([insert, read]);
        return 'ok';
      })
      .catch((error: unknown) => error);
    expect(outcome).toMatchObject({ message: expect.stringContaining('no_such_role_here') });
    expect(await stored(['r-unscoped'])).toEqual([]);
    // The connection went back to the pool usable, and unpipelined for cursors (pg-query-stream).
    const pool = (
      store.dataSource.driver as unknown as { master: { _clients: { pipeline: boolean }[] } }
    ).master;
    expect(pool._clients.map((c) => c.pipeline)).not.toContain(true);
  });

  it('statements issued together succeed together and commit', async () => {
    const rows = await store.runner.runAsUser(USER, async () => {
      const inserted = store.changes.insertBatch([newChange({ recordId: 's-one' })]);
      const page = store.changes.changesSince({
        appId: 'todo',
        after: START,
        limit: 10,
        horizon: inserted.then((s) => s.horizon),
      });
      const [batch, read] = await Promise.all([inserted, page]);
      expect(batch.inserted).toBe(1);
      // The page stops below the horizon the insert read: its own rows are not in it.
      expect(read.horizon).toBe(batch.horizon);
      expect(batch.horizon).toBeLessThanOrEqual(batch.txId);
      return read.rows.length;
    });
    expect(rows).toBe(0);
    expect(await stored(['s-one'])).toEqual(['s-one']);
  });

  describe('COMMIT in the same write (commitNow)', () => {
    let host: TransactionHost;

    /** As the request interceptor runs a handler: it may end the transaction itself. */
    const early = <T>(fn: () => Promise<T>): Promise<T> =>
      store.runner.runAsUser(USER, fn, { commitEarly: true });

    beforeAll(() => {
      host = store.context.get(TransactionHost);
    });

    it('commits with the statements: one write, and the answer after COMMIT', async () => {
      const read = await early(async () => {
        const inserted = store.changes.insertBatch([newChange({ recordId: 'c-one' })]);
        const page = store.changes.changesSince({ appId: 'todo', after: START, limit: 10 });
        host.commitNow();
        const [batch] = await Promise.all([inserted, page]);
        // Committed by the time the handler returns its result? Only once end() saw COMMIT.
        return batch.inserted;
      });
      expect(read).toBe(1);
      expect(await stored(['c-one'])).toEqual(['c-one']);
    });

    it('refuses a statement after it: nothing runs outside the transaction and its scope', async () => {
      const outcome = await early(async () => {
        const first = store.changes.insertBatch([newChange({ recordId: 'c-before' })]);
        host.commitNow();
        await first;
        await store.changes.insertBatch([newChange({ recordId: 'c-after' })]);
        return 'ok';
      }).catch((error: unknown) => error);
      expect(outcome).toMatchObject({ message: expect.stringMatching(/transaction has ended/) });
      // The handler failed after COMMIT went out: what it stored before stays.
      expect(await stored(['c-before', 'c-after'])).toEqual(['c-before']);
    });

    it('a failure before it makes COMMIT a rollback, and the failure is the answer', async () => {
      const outcome = await early(async () => {
        const good = store.changes.insertBatch([newChange({ recordId: 'c-good' })]);
        const bad = store.changes.insertBatch([
          newChange({ recordId: 'c-bad', data: { title: 'nul \u0000' } }),
        ]);
        host.commitNow();
        await Promise.allSettled([good, bad]);
        return 'handler finished';
      }).catch((error: unknown) => error);
      expect(outcome).toMatchObject({ code: '22P05' });
      expect(await stored(['c-good', 'c-bad'])).toEqual([]);
    });

    it('does nothing where the owner did not allow it: a caller can still roll back', async () => {
      const outcome = await store.runner
        .runAsUser(USER, async () => {
          const inserted = store.changes.insertBatch([newChange({ recordId: 'c-kept-open' })]);
          host.commitNow();
          await inserted;
          throw new Error('the caller fails');
        })
        .catch((error: unknown) => error);
      expect(outcome).toMatchObject({ message: 'the caller fails' });
      expect(await stored(['c-kept-open'])).toEqual([]);
    });

    it('runs the after-commit callbacks of a committed transaction even when the handler then fails', async () => {
      let called = 0;
      const outcome = await early(async () => {
        host.afterCommit(() => called++);
        const inserted = store.changes.insertBatch([newChange({ recordId: 'c-late-fail' })]);
        host.commitNow();
        await inserted;
        throw new Error('the answer could not be built');
      }).catch((error: unknown) => error);
      expect(outcome).toMatchObject({ message: 'the answer could not be built' });
      expect(called).toBe(1);
      expect(await stored(['c-late-fail'])).toEqual(['c-late-fail']);
    });
  });
});
