import { HttpException, Logger } from '@nestjs/common';
import { createHash } from 'crypto';
import { execFile } from 'child_process';
import { mkdtemp, readFile, rm, writeFile } from 'fs/promises';
import { tmpdir } from 'os';
import { join } from 'path';
import { Writable } from 'stream';
import { promisify } from 'util';
import { BackupRepository } from '../../src/backup/backup.repository';
import { BackupExportService } from '../../src/backup/backup-export.service';
import { BackupImportService } from '../../src/backup/backup-import.service';
import { ChangeRow } from '../../src/store/change-columns';
import { START } from '../../src/store/log-position';
import { TransactionHost } from '../../src/store/transaction-host';
import { readZip } from '../support/backup-archive';
import { createStoreContext, StoreContext } from '../support/store-context';
import { createTestDatabase, TestDatabase } from '../support/test-database';

const ROWS_OF_A = 20_000;
/** Rows of A besides the bulk: adopted from mana-sync (tx_id 0), and small pushes into two apps. */
const ADOPTED_OF_A = 3;
const PUSHES_OF_A = 5;
const ALL_OF_A = ROWS_OF_A + ADOPTED_OF_A + 2 * PUSHES_OF_A;

/** A reader that takes each chunk only after `delayMs`: a phone on a slow network. */
class ThrottledSink extends Writable {
  readonly chunks: Buffer[] = [];

  constructor(private readonly delayMs: number) {
    super({ highWaterMark: 16 * 1024 });
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, done: () => void): void {
    this.chunks.push(chunk);
    setTimeout(done, this.delayMs);
  }

  get bytes(): Buffer {
    return Buffer.concat(this.chunks);
  }
}

/** Polls until `check` holds; fails after `limitMs` (a safety net, not a timing assertion). */
async function eventually(check: () => Promise<boolean>, limitMs = 20_000): Promise<void> {
  const deadline = Date.now() + limitMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('the condition never held');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** The events of an archive, after checking it is whole: manifest last, count and sha256 right. */
async function eventsOf(archive: Buffer): Promise<{ manifest: any; events: any[] }> {
  const entries = await readZip(archive);
  expect(entries.map((e) => e.name)).toEqual(['events.jsonl', 'manifest.json']);
  const manifest = JSON.parse(entries[1].data.toString());
  const events = entries[0].data
    .toString()
    .split('\n')
    .filter((l) => l)
    .map((l) => JSON.parse(l));
  expect(manifest.eventCount).toBe(events.length);
  expect(manifest.eventsSha256).toBe(createHash('sha256').update(entries[0].data).digest('hex'));
  return { manifest, events };
}

/** Collects what is written; holds the first write's callback until released (a stalled reader). */
class StalledSink extends Writable {
  readonly chunks: Buffer[] = [];
  private release?: () => void;
  private stalled = true;
  readonly firstWrite: Promise<void>;
  private firstWritten!: () => void;

  constructor() {
    super();
    this.firstWrite = new Promise((resolve) => (this.firstWritten = resolve));
    this.firstWrite.then(() => undefined);
  }

  override _write(
    chunk: Buffer,
    _encoding: BufferEncoding,
    done: (error?: Error | null) => void,
  ): void {
    this.chunks.push(chunk);
    if (this.chunks.length === 1 && this.stalled) {
      this.release = () => done();
    } else {
      done();
    }
    this.firstWritten();
  }

  resume(): void {
    this.stalled = false;
    this.release?.();
  }

  get bytes(): Buffer {
    return Buffer.concat(this.chunks);
  }
}

describe('backup export and import on a real database', () => {
  let db: TestDatabase;
  let store: StoreContext;
  let exporter: BackupExportService;
  let importer: BackupImportService;

  /** The service's connections of this database that are inside a transaction. */
  async function openTransactions(): Promise<number> {
    const { rows } = await db.pool.query(
      `SELECT count(*)::int AS n FROM pg_stat_activity
        WHERE datname = current_database() AND application_name = 'sync-server' AND xact_start IS NOT NULL`,
    );
    return rows[0].n;
  }

  beforeAll(async () => {
    db = await createTestDatabase();
    store = await createStoreContext(db.url);
    exporter = store.context.get(BackupExportService);
    importer = store.context.get(BackupImportService);
    // Random hex data compresses poorly, so a stalled reader stops the export long before its end.
    await db.pool.query(
      `INSERT INTO sync_changes (app_id, table_name, record_id, user_id, op, data, client_id, space_id)
       SELECT 'todo', 'tasks', 'a-' || g, 'a', 'insert', jsonb_build_object('h', md5(g::text)), 'c',
              CASE WHEN g % 10 = 0 THEN 'space-s' END
         FROM generate_series(1, $1::int) g`,
      [ROWS_OF_A],
    );
    await db.pool.query(
      `INSERT INTO sync_changes (app_id, table_name, record_id, user_id, op, data, client_id)
       VALUES ('todo', 'tasks', 'b-1', 'b', 'insert', '{}', 'c'), ('notes', 'notes', 'b-2', 'b', 'insert', '{}', 'c')`,
    );
    // Written last, but adopted from a mana-sync database (tx_id 0): they come first in the log.
    await db.pool.query(
      `INSERT INTO sync_changes (app_id, table_name, record_id, user_id, op, data, client_id, tx_id)
       SELECT 'todo', 'tasks', 'adopted-' || g, 'a', 'insert', '{}', 'go', 0 FROM generate_series(1, $1::int) g`,
      [ADOPTED_OF_A],
    );
    for (let i = 1; i <= PUSHES_OF_A; i++) {
      for (const app of ['notes', 'todo']) {
        await db.pool.query(
          `INSERT INTO sync_changes (app_id, table_name, record_id, user_id, op, data, client_id)
           VALUES ($1, 't', $2, 'a', 'insert', '{"n":1}', 'c')`,
          [app, `${app}-${i}`],
        );
      }
    }
  });

  afterAll(async () => {
    await store?.close();
    await db?.drop();
  });

  afterEach(() => {
    jest.restoreAllMocks();
  });

  it("exports only the user's own rows when its scope can read other users' space rows", async () => {
    const scope = { userId: 'b', spaceIds: ['space-s'] };
    const host = store.context.get(TransactionHost);
    const [{ n }] = await store.runner.runAsUser(scope, () =>
      host.manager.query(`SELECT count(*)::int AS n FROM sync_changes WHERE user_id = 'a'`),
    );
    expect(n).toBe(ROWS_OF_A / 10);

    const sink = new StalledSink();
    sink.resume();
    const manifest = await exporter.exportArchive(scope, sink);
    expect(manifest).toMatchObject({ userId: 'b', eventCount: 2, apps: ['notes', 'todo'] });
    const [events] = await readZip(sink.bytes);
    expect(
      events.data
        .toString()
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l).id),
    ).toEqual(['b-1', 'b-2']);
  });

  it('reads in keyset pages: the archive holds the rows in (tx_id, seq) order, adopted rows first, apps merged', async () => {
    const sink = new StalledSink();
    sink.resume();
    await exporter.exportArchive({ userId: 'a', spaceIds: [] }, sink);
    const { manifest, events } = await eventsOf(sink.bytes);
    const { rows } = await db.pool.query(
      `SELECT id FROM sync_changes WHERE user_id = 'a' ORDER BY tx_id, seq`,
    );
    expect(events.map((e) => e.eventId)).toEqual(rows.map((r) => r.id));
    expect(events.slice(0, ADOPTED_OF_A).map((e) => e.id)).toEqual([
      'adopted-1',
      'adopted-2',
      'adopted-3',
    ]);
    expect(events.slice(-4).map((e) => e.id)).toEqual(['notes-4', 'todo-4', 'notes-5', 'todo-5']);
    expect(manifest).toMatchObject({ eventCount: ALL_OF_A, apps: ['notes', 'todo'] });
  });

  it('cuts pages by stored bytes too, never below one row', async () => {
    const repository = store.context.get(BackupRepository);
    const read = (maxBytes: number) =>
      store.runner.runAsUser({ userId: 'a', spaceIds: [] }, async () => {
        const { horizon, apps } = await repository.exportStart();
        const rows: ChangeRow[] = [];
        await repository.exportPage({ apps, after: START, horizon, maxRows: 50, maxBytes }, (row) =>
          rows.push(row),
        );
        return rows;
      });
    expect((await read(1)).map((r) => r.recordId)).toEqual(['adopted-1']);
    expect(await read(10_000_000)).toHaveLength(50);
    const some = await read(2_000);
    expect(some.length).toBeGreaterThan(1);
    expect(some.length).toBeLessThan(50);
  });

  it('holds the rows below the horizon at its start: a transaction still open then is left out', async () => {
    const open = await db.pool.connect();
    try {
      await open.query('BEGIN');
      await open.query(
        `INSERT INTO sync_changes (app_id, table_name, record_id, user_id, op, data, client_id)
         VALUES ('todo', 't', 'late', 'a', 'insert', '{}', 'c')`,
      );
      // Committed, but behind the open transaction in the log: not final yet either.
      await db.pool.query(
        `INSERT INTO sync_changes (app_id, table_name, record_id, user_id, op, data, client_id)
         VALUES ('todo', 't', 'behind', 'a', 'insert', '{}', 'c')`,
      );
      const during = new StalledSink();
      during.resume();
      await exporter.exportArchive({ userId: 'a', spaceIds: [] }, during);
      const ids = (await eventsOf(during.bytes)).events.map((e) => e.id);
      expect(ids).toHaveLength(ALL_OF_A);
      expect(ids).not.toContain('late');
      expect(ids).not.toContain('behind');
      await open.query('COMMIT');

      const after = new StalledSink();
      after.resume();
      await exporter.exportArchive({ userId: 'a', spaceIds: [] }, after);
      expect((await eventsOf(after.bytes)).events.slice(-2).map((e) => e.id)).toEqual([
        'late',
        'behind',
      ]);
    } finally {
      await open.query('ROLLBACK').catch(() => undefined);
      open.release();
      await db.pool.query(`DELETE FROM sync_changes WHERE record_id IN ('late', 'behind')`);
    }
  });

  it('a reader throttled far past the statement and idle timeouts still gets the whole, verifiable archive', async () => {
    const slow = await createStoreContext(db.url, {
      DB_STATEMENT_TIMEOUT_MS: '500',
      DB_IDLE_IN_TX_TIMEOUT_MS: '500',
    });
    try {
      const { rows } = await db.pool.query(
        `SELECT id FROM sync_changes WHERE user_id = 'a' ORDER BY tx_id, seq`,
      );
      const sink = new ThrottledSink(40);
      const started = Date.now();
      const manifest = await slow.context
        .get(BackupExportService)
        .exportArchive({ userId: 'a', spaceIds: [] }, sink);
      // The reader was slower than both timeouts by far, or this test proves nothing.
      expect(Date.now() - started).toBeGreaterThan(4 * 500);
      const { events } = await eventsOf(sink.bytes);
      expect(manifest.eventCount).toBe(ALL_OF_A);
      expect(events.map((e) => e.eventId)).toEqual(rows.map((r) => r.id));
    } finally {
      await slow.close();
    }
  }, 60_000);

  it('a read failing midway: logged, no manifest, the output destroyed, the connection released', async () => {
    const logged = jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    const sink = new StalledSink();
    const exporting = exporter.exportArchive({ userId: 'a', spaceIds: [] }, sink);
    exporting.catch(() => undefined);
    await sink.firstWrite;
    await eventually(async () => (await openTransactions()) === 0);
    // The next page's read fails (as a lost database would), while the reader waits.
    await db.pool.query('REVOKE SELECT ON sync_changes FROM sync_app');
    try {
      sink.resume();
      await expect(exporting).rejects.toThrow(/permission denied/);
    } finally {
      await db.pool.query('GRANT SELECT ON sync_changes TO sync_app');
    }
    expect(sink.destroyed).toBe(true);
    expect(sink.bytes.includes('manifest.json')).toBe(false);
    expect(logged).toHaveBeenCalledWith(
      expect.stringMatching(
        /^export for user a failed after \d+ events, the archive has no manifest: /,
      ),
    );
    expect(await openTransactions()).toBe(0);
  });

  it('a stalled reader holds no transaction; one that goes away stops the export', async () => {
    jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    const sink = new StalledSink();
    const exporting = exporter.exportArchive({ userId: 'a', spaceIds: [] }, sink);
    exporting.catch(() => undefined);
    await sink.firstWrite;
    await eventually(async () => (await openTransactions()) === 0);
    sink.destroy();
    await expect(exporting).rejects.toThrow();
    expect(await openTransactions()).toBe(0);

    // The pool is healthy: a complete export follows.
    const complete = new StalledSink();
    complete.resume();
    const manifest = await exporter.exportArchive({ userId: 'a', spaceIds: [] }, complete);
    expect(manifest.eventCount).toBe(ALL_OF_A);
  });

  it('imports in batches, each its own transaction; a failed import run again completes it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'backup-batches-'));
    const file = join(dir, 'c.mana');
    const user = { userId: 'c', spaceIds: [], membershipsAvailable: true };
    try {
      await db.pool.query(
        `INSERT INTO sync_changes (app_id, table_name, record_id, user_id, op, data, client_id)
         SELECT 'todo', 't', 'c-' || g, 'c', 'insert', jsonb_build_object('g', g), 'c'
           FROM generate_series(1, 2500) g`,
      );
      const sink = new StalledSink();
      sink.resume();
      await exporter.exportArchive(user, sink);
      await writeFile(file, sink.bytes);
      await db.pool.query(`DELETE FROM sync_changes WHERE user_id = 'c'`);

      // The database refuses the 1,500th row: the first batch (1,000) stays committed.
      await db.pool.query(`
        CREATE FUNCTION refuse_c_1500() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          IF NEW.record_id = 'c-1500' THEN RAISE EXCEPTION 'disk full (test)'; END IF;
          RETURN NEW;
        END $$;
        CREATE TRIGGER refuse_c_1500 BEFORE INSERT ON sync_changes
          FOR EACH ROW EXECUTE FUNCTION refuse_c_1500()`);
      jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
      let failure: unknown;
      try {
        await importer.importFile(user, file);
      } catch (error) {
        failure = error;
      } finally {
        await db.pool.query('DROP TRIGGER refuse_c_1500 ON sync_changes');
      }
      expect(failure).toBeInstanceOf(HttpException);
      expect((failure as HttpException).getStatus()).toBe(503);
      expect((failure as HttpException).getResponse()).toEqual({
        message: expect.stringMatching(
          /^The import stopped after storing 1000 of 2500 events .*Import the same archive again/,
        ),
        complete: false,
        read: 2500,
        inserted: 1000,
      });

      expect(await importer.importFile(user, file)).toEqual({
        read: 2500,
        inserted: 1500,
        skipped: 1000,
        complete: true,
      });
      const { rows } = await db.pool.query(
        `SELECT count(*)::int AS n, count(DISTINCT tx_id)::int AS transactions,
                count(DISTINCT record_id)::int AS records
           FROM sync_changes WHERE user_id = 'c'`,
      );
      // 1,000 + (1,000 + 500): three batches, three transactions.
      expect(rows[0]).toEqual({ n: 2500, transactions: 3, records: 2500 });
    } finally {
      await rm(dir, { recursive: true, force: true });
      await db.pool.query(`DELETE FROM sync_changes WHERE user_id = 'c'`);
    }
  });

  it('the CLI exports and imports with the same service (npm run backup)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'backup-cli-'));
    const file = join(dir, 'b.mana');
    const env = { ...process.env, DATABASE_URL: db.url, DB_MIGRATE_ON_START: 'false' };
    const run = (args: string[]) =>
      promisify(execFile)('npm', ['run', '--silent', 'backup', '--', ...args], {
        env,
        cwd: process.cwd(),
      });
    try {
      const exported = await run(['export', '--user', 'b', '--out', file]);
      expect(exported.stdout).toMatch(
        /^exported 2 events of user b to .*b\.mana \(sha256 [0-9a-f]{64}\)$/m,
      );
      const entries = await readZip(await readFile(file));
      expect(entries.map((e) => e.name)).toEqual(['events.jsonl', 'manifest.json']);

      await db.pool.query(`DELETE FROM sync_changes WHERE user_id = 'b'`);
      const imported = await run(['import', '--user', 'b', '--in', file]);
      expect(imported.stdout).toContain('{"read":2,"inserted":2,"skipped":0,"complete":true}');
      const { rows } = await db.pool.query(
        `SELECT record_id FROM sync_changes WHERE user_id = 'b' ORDER BY seq`,
      );
      expect(rows.map((r) => r.record_id)).toEqual(['b-1', 'b-2']);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
