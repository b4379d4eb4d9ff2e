import { Logger } from '@nestjs/common';
import { execFile } from 'child_process';
import { mkdtemp, readFile, rm } from 'fs/promises';
import { tmpdir } from 'os';
import { join } from 'path';
import { Writable } from 'stream';
import { promisify } from 'util';
import { BackupService } from '../../src/backup/backup.service';
import { TransactionHost } from '../../src/store/transaction-host';
import { readZip } from '../support/backup-archive';
import { createStoreContext, StoreContext } from '../support/store-context';
import { createTestDatabase, TestDatabase } from '../support/test-database';

const ROWS_OF_A = 20_000;

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

describe('BackupService on a real database', () => {
  let db: TestDatabase;
  let store: StoreContext;
  let backup: BackupService;

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
    backup = store.context.get(BackupService);
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
    const manifest = await backup.exportArchive(scope, sink);
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

  it('a database failure midway: logged, no manifest, the output destroyed, the connection released', async () => {
    const logged = jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    const sink = new StalledSink();
    const exporting = backup.exportArchive({ userId: 'a', spaceIds: [] }, sink);
    exporting.catch(() => undefined);
    await sink.firstWrite;
    const { rowCount } = await db.pool.query(
      `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
        WHERE datname = current_database() AND query LIKE '%WHERE user_id = $1 ORDER BY tx_id, seq'`,
    );
    expect(rowCount).toBe(1);
    sink.resume();
    await expect(exporting).rejects.toThrow(/terminat/i);
    expect(sink.destroyed).toBe(true);
    expect(sink.bytes.includes('manifest.json')).toBe(false);
    expect(logged).toHaveBeenCalledWith(
      expect.stringMatching(
        /^export for user a failed after \d+ events, the archive has no manifest: /,
      ),
    );
    expect(await openTransactions()).toBe(0);
  });

  it('a reader that goes away midway stops the export and ends its transaction', async () => {
    jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    const sink = new StalledSink();
    const exporting = backup.exportArchive({ userId: 'a', spaceIds: [] }, sink);
    exporting.catch(() => undefined);
    await sink.firstWrite;
    expect(await openTransactions()).toBe(1);
    sink.destroy();
    await expect(exporting).rejects.toThrow();
    expect(await openTransactions()).toBe(0);

    // The pool is healthy: a complete export follows.
    const complete = new StalledSink();
    complete.resume();
    const manifest = await backup.exportArchive({ userId: 'a', spaceIds: [] }, complete);
    expect(manifest.eventCount).toBe(ROWS_OF_A);
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
      expect(imported.stdout).toContain('{"read":2,"inserted":2,"skipped":0}');
      const { rows } = await db.pool.query(
        `SELECT record_id FROM sync_changes WHERE user_id = 'b' ORDER BY seq`,
      );
      expect(rows.map((r) => r.record_id)).toEqual(['b-1', 'b-2']);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
