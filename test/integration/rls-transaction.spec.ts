import 'reflect-metadata';
import { Controller, Module, Param, Post, Query, UseGuards, UseInterceptors } from '@nestjs/common';
import { Client } from 'pg';
import { DataSource } from 'typeorm';
import type { PostgresDriver } from 'typeorm/driver/postgres/PostgresDriver';
import { AuthGuard } from '../../src/auth/auth.guard';
import { ChangeRepository } from '../../src/store/change.repository';
import { RlsTransactionInterceptor } from '../../src/http/rls-transaction.interceptor';
import { TransactionHost } from '../../src/store/transaction-host';
import { FakeAuthServer } from '../support/fake-auth';
import { newChange } from '../support/store-context';
import { startTestApp, TestApp } from '../support/test-app';
import { createTestDatabase, TestDatabase } from '../support/test-database';

/** A write route wired like the sync routes: AuthGuard, then the RLS transaction, then the repository. */
@Controller('test-write')
@UseGuards(AuthGuard)
@UseInterceptors(RlsTransactionInterceptor)
class TestWriteController {
  constructor(
    private readonly changes: ChangeRepository,
    private readonly tx: TransactionHost,
  ) {}

  @Post(':recordId')
  async write(
    @Param('recordId') recordId: string,
    @Query('mode') mode?: string,
  ): Promise<{ inserted: number }> {
    if (mode === 'slow') await this.tx.manager.query('SELECT pg_sleep(0.02)');
    const { inserted } = await this.changes.insertBatch([newChange({ recordId })]);
    if (mode === 'throw') throw new Error('handler failed after its insert');
    return { inserted };
  }
}

@Module({ controllers: [TestWriteController] })
class TestWriteModule {}

interface PgPool {
  totalCount: number;
  idleCount: number;
  waitingCount: number;
}

const USER = 'user-1';

describe('RlsTransactionInterceptor over HTTP', () => {
  let db: TestDatabase;
  let auth: FakeAuthServer;
  let server: TestApp;
  let token: string;
  /** A connection of the test's own, outside the service's pool. */
  let observer: Client;

  function post(recordId: string, mode?: string, signal?: AbortSignal): Promise<Response> {
    const query = mode ? `?mode=${mode}` : '';
    return fetch(`${server.url}/test-write/${recordId}${query}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}` },
      signal,
    });
  }

  async function rowsFor(pattern: string): Promise<{ record_id: string; user_id: string }[]> {
    const { rows } = await observer.query<{ record_id: string; user_id: string }>(
      'SELECT record_id, user_id FROM sync_changes WHERE record_id LIKE $1 ORDER BY record_id',
      [pattern],
    );
    return rows;
  }

  function servicePool(): PgPool {
    return (server.app.get(DataSource).driver as PostgresDriver).master as PgPool;
  }

  beforeAll(async () => {
    db = await createTestDatabase();
    // Deferred constraint triggers run at COMMIT, after the INSERT itself has succeeded.
    await db.pool.query(`
      CREATE FUNCTION test_commit_hook() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF NEW.record_id = 'fail-at-commit' THEN
          RAISE EXCEPTION 'test trigger refuses this row at commit';
        ELSIF NEW.record_id = 'slow-commit' THEN
          PERFORM pg_sleep(0.4);
        END IF;
        RETURN NULL;
      END $$`);
    await db.pool.query(`
      CREATE CONSTRAINT TRIGGER test_commit_hook AFTER INSERT ON sync_changes
        DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION test_commit_hook()`);
    observer = new Client({ connectionString: db.url });
    await observer.connect();
    auth = await new FakeAuthServer().start();
    token = await auth.token(USER, { expiresIn: '10m' });
    server = await startTestApp(
      { DATABASE_URL: db.url, JWKS_URL: auth.jwksUrl },
      { imports: [TestWriteModule], logger: false },
    );
  });

  afterAll(async () => {
    await server?.close();
    await auth?.stop();
    await observer?.end();
    await db?.drop();
  });

  it('commits a successful write as the authenticated user (control)', async () => {
    const response = await post('ok-1');
    expect(response.status).toBe(201);
    expect(await response.json()).toEqual({ inserted: 1 });
    expect(await rowsFor('ok-1')).toEqual([{ record_id: 'ok-1', user_id: USER }]);
  });

  it('(a) a handler that throws after inserting gets a 5xx JSON error and leaves no row', async () => {
    const response = await post('thrown-1', 'throw');
    expect(response.status).toBe(500);
    expect(response.headers.get('content-type')).toMatch(/application\/json/);
    expect(await response.json()).toEqual({
      statusCode: 500,
      error: 'Internal Server Error',
      message: 'Internal server error',
    });
    expect(await rowsFor('thrown-%')).toEqual([]);
  });

  it('(b) a failing COMMIT gets a 5xx JSON error without SQL text, and leaves no row', async () => {
    const response = await post('fail-at-commit');
    expect(response.status).toBeGreaterThanOrEqual(500);
    const body = await response.json();
    expect(body).toMatchObject({ statusCode: response.status, error: expect.any(String) });
    expect(JSON.stringify(body)).not.toMatch(/trigger|refuses/);
    expect(await rowsFor('fail-at-commit')).toEqual([]);
    // The connection went back to the pool clean: the next write on it commits.
    const next = await post('ok-after-failed-commit');
    expect(next.status).toBe(201);
    expect(await rowsFor('ok-after-failed-commit')).toHaveLength(1);
  });

  it('(c) the response is sent only after COMMIT returned', async () => {
    const started = performance.now();
    const response = await post('slow-commit');
    const elapsed = performance.now() - started;
    // Checked the instant the response arrives, before reading its body.
    const visible = await rowsFor('slow-commit');
    expect(response.status).toBe(201);
    expect(visible).toEqual([{ record_id: 'slow-commit', user_id: USER }]);
    expect(elapsed).toBeGreaterThanOrEqual(400);
    expect(await response.json()).toEqual({ inserted: 1 });
  });

  it('(d) 1,000 requests, a quarter aborted mid-request, leave no connection checked out', async () => {
    const TOTAL = 1000;
    const CONCURRENCY = 50;
    const outcomes: ('ok' | 'aborted' | 'other')[] = [];
    let next = 0;

    async function one(i: number): Promise<void> {
      const recordId = `load-${String(i).padStart(4, '0')}`;
      const controller = new AbortController();
      const abort = i % 4 === 0 ? setTimeout(() => controller.abort(), 5) : undefined;
      try {
        const response = await post(recordId, 'slow', controller.signal);
        await response.arrayBuffer();
        outcomes[i] = response.status === 201 ? 'ok' : 'other';
      } catch (error) {
        outcomes[i] = (error as Error).name === 'AbortError' ? 'aborted' : 'other';
      } finally {
        clearTimeout(abort);
      }
    }

    async function worker(): Promise<void> {
      while (next < TOTAL) await one(next++);
    }

    await Promise.all(Array.from({ length: CONCURRENCY }, worker));

    const aborted = outcomes.filter((o) => o === 'aborted').length;
    expect(outcomes.filter((o) => o === 'other')).toEqual([]);
    expect(aborted).toBeGreaterThan(TOTAL / 8);
    expect(aborted).toBeLessThanOrEqual(TOTAL / 4);

    // Handlers of aborted requests may still be running: wait (bounded) for them to finish.
    const pool = servicePool();
    const deadline = Date.now() + 5_000;
    const busy = (): number => pool.totalCount - pool.idleCount + pool.waitingCount;
    while (busy() > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect({
      checkedOut: pool.totalCount - pool.idleCount,
      waiting: pool.waitingCount,
    }).toEqual({ checkedOut: 0, waiting: 0 });

    // Every write a client saw succeed is durable, as its user; nothing else appeared.
    const rows = await rowsFor('load-%');
    const stored = new Set(rows.map((r) => r.record_id));
    const acknowledged = outcomes
      .map((o, i) => (o === 'ok' ? `load-${String(i).padStart(4, '0')}` : undefined))
      .filter((id): id is string => id !== undefined);
    expect(acknowledged.filter((id) => !stored.has(id))).toEqual([]);
    expect(rows.length).toBeLessThanOrEqual(TOTAL);
    expect(rows.every((r) => r.user_id === USER)).toBe(true);

    // The service still works afterwards.
    expect((await post('ok-after-load')).status).toBe(201);
  });
});
