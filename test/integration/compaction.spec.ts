import { Pool } from 'pg';
import { judgeRows } from '../../src/compaction/compaction-rule';
import { CompactionRepository, RecordKey } from '../../src/compaction/compaction.repository';
import { CompactionRunner } from '../../src/compaction/compaction.runner';
import { CompactionService } from '../../src/compaction/compaction.service';
import { compactionRoleFromEnv } from '../../src/config/compaction-role';
import { rlsRoleFromEnv } from '../../src/config/rls-role';
import {
  GROUPS,
  groupOf,
  oddRow,
  randomHistory,
  randomTime,
  seedFromEnv,
  seededRandom,
  views,
  withLocalEdits,
} from '../support/compaction-histories';
import { createStoreContext, StoreContext } from '../support/store-context';
import { createTestDatabase, TestDatabase } from '../support/test-database';
import { applyAll, LocalRecord, ModelRow, stateKey } from '../support/web-client-model';

interface StoredRow {
  id: string;
  recordId: string;
  seq: string;
  txId: string;
  row: ModelRow;
}

async function insertRow(
  pool: Pool,
  recordId: string,
  row: ModelRow,
  ageHours: number,
  appId = 'notes-app',
): Promise<void> {
  await pool.query(
    `INSERT INTO sync_changes
       (app_id, table_name, record_id, user_id, op, data, field_meta, client_id, created_at, actor, space_id)
     VALUES ($1, 'notes', $2, $3, $4, $5, $6, 'client-x', now() - make_interval(hours => $7), $8, $9)`,
    [
      appId,
      recordId,
      row.userId,
      row.op,
      JSON.stringify(row.data),
      JSON.stringify(row.fieldMeta),
      ageHours,
      JSON.stringify(row.actor),
      row.spaceId,
    ],
  );
}

async function readLog(pool: Pool, appId = 'notes-app'): Promise<StoredRow[]> {
  const { rows } = await pool.query(
    `SELECT id, record_id, seq::text, tx_id::text, user_id, space_id, op, data, field_meta,
            to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS created_at, actor
       FROM sync_changes WHERE app_id = $1
      -- The table's columns, not the text aliases above: "926" sorts after "2123" as text.
      ORDER BY sync_changes.tx_id, sync_changes.seq`,
    [appId],
  );
  return rows.map((r) => ({
    id: r.id,
    recordId: r.record_id,
    seq: r.seq,
    txId: r.tx_id,
    row: {
      userId: r.user_id,
      spaceId: r.space_id,
      op: r.op,
      data: r.data,
      fieldMeta: r.field_meta,
      createdAt: r.created_at,
      actor: r.actor,
    },
  }));
}

const seed = seedFromEnv();

describe(`log compaction on PostgreSQL (SEED=${seed})`, () => {
  let db: TestDatabase;
  let store: StoreContext;
  let compaction: CompactionService;

  beforeAll(async () => {
    db = await createTestDatabase();
    // Small batches: a pass crosses many batch (transaction) boundaries.
    store = await createStoreContext(db.url, {
      COMPACTION_INTERVAL_MS: '0',
      COMPACTION_BATCH_RECORDS: '7',
    });
    compaction = store.context.get(CompactionService);
  });

  afterAll(async () => {
    await store?.close();
    await db?.drop();
  });

  beforeEach(() => db.pool.query(`TRUNCATE sync_changes, sync_compaction_state`));

  it('the SQL pass keeps every cursor, view and device state ending where the full log does', async () => {
    const random = seededRandom(seed);
    const records = Array.from({ length: 200 }, (_, i) => ({
      recordId: `rec-${i}`,
      history: randomHistory(random, 12),
    }));
    // Interleave the records' rows in the log, each record's in its own order.
    const queues = records.map((r) => [...r.history]);
    while (queues.some((q) => q.length)) {
      const open = queues.map((q, i) => [q, i] as const).filter(([q]) => q.length);
      const [queue, index] = open[Math.floor(random() * open.length)];
      const row = queue.shift()!;
      await insertRow(db.pool, records[index].recordId, row, random() < 0.15 ? 1 : 100);
    }
    const full = await readLog(db.pool);
    const report = await compaction.runPass();
    expect(report).toMatchObject({ ran: true, complete: true, rowsScanned: full.length });
    expect(report.batches).toBeGreaterThan(5);
    const compacted = await readLog(db.pool);
    expect(full.length - compacted.length).toBe(report.rowsRemoved);
    expect(report.rowsRemoved).toBeGreaterThan(full.length * 0.1);

    // Survivors keep their positions; a stripped row only lost fields.
    const before = new Map(full.map((r) => [r.id, r]));
    for (const row of compacted) {
      const original = before.get(row.id)!;
      expect([row.txId, row.seq, row.row.op]).toEqual([
        original.txId,
        original.seq,
        original.row.op,
      ]);
      for (const [key, value] of Object.entries(row.row.data as object)) {
        expect((original.row.data as Record<string, unknown>)[key]).toEqual(value);
      }
    }

    const position = new Map(full.map((r, i) => [r.id, i]));
    const allViews = views();
    for (const { recordId } of records) {
      const fullRows = full.filter((r) => r.recordId === recordId);
      const kept = compacted.filter((r) => r.recordId === recordId);
      for (let cursor = 0; cursor <= fullRows.length; cursor++) {
        const at = cursor < fullRows.length ? position.get(fullRows[cursor].id)! : Infinity;
        for (const view of allViews) {
          const seen = (r: StoredRow) => view.includes(groupOf(r.row));
          const after = (log: StoredRow[]) =>
            log.filter((r) => position.get(r.id)! >= at && seen(r)).map((r) => r.row);
          const prefix = applyAll(
            undefined,
            fullRows.filter((r) => position.get(r.id)! < at && seen(r)).map((r) => r.row),
            recordId,
            '1970-01-01T00:00:00.000Z',
          );
          const starts: (LocalRecord | undefined)[] = [
            prefix,
            withLocalEdits(random, prefix),
            undefined,
          ];
          const now = randomTime(random);
          for (const start of starts) {
            const expected = stateKey(applyAll(start, after(fullRows), recordId, now));
            const actual = stateKey(applyAll(start, after(kept), recordId, now));
            if (expected !== actual) {
              throw new Error(
                `SEED=${seed} ${recordId} cursor ${cursor} view ${view.map((g) => JSON.stringify(GROUPS[g]))}\n` +
                  `full ${JSON.stringify(fullRows)}\nkept ${JSON.stringify(kept.map((r) => r.id))}\n` +
                  `expected ${expected}\nactual   ${actual}`,
              );
            }
          }
        }
      }
    }
  });

  it('the SQL verdict equals the pure rule on thousands of records, odd rows included', async () => {
    const random = seededRandom(seed + 1);
    const rows: { recordId: string; row: ModelRow; age: number }[] = [];
    for (let r = 0; r < 2000; r++) {
      const history = randomHistory(random, 10).map((row) =>
        random() < 0.1 ? oddRow(random, row) : row,
      );
      for (const row of history) {
        rows.push({ recordId: `diff-${r}`, row, age: random() < 0.15 ? 1 : 100 });
      }
    }
    await db.pool.query(
      `INSERT INTO sync_changes
         (app_id, table_name, record_id, user_id, op, data, field_meta, client_id, created_at, space_id)
       SELECT 'notes-app', 'notes', x.record_id, x.user_id, x.op, x.data, x.field_meta, 'c',
              now() - make_interval(hours => x.age), x.space_id
         FROM jsonb_to_recordset($1::jsonb)
              AS x(n int, record_id text, user_id text, op text, data jsonb, field_meta jsonb, age int, space_id text)
        ORDER BY x.n`,
      [
        JSON.stringify(
          rows.map(({ recordId, row, age }, n) => ({
            n,
            record_id: recordId,
            user_id: row.userId,
            op: row.op,
            data: row.data,
            field_meta: row.fieldMeta,
            age,
            space_id: row.spaceId,
          })),
        ),
      ],
    );
    const queryRunner = store.dataSource.createQueryRunner();
    try {
      await queryRunner.startTransaction();
      await queryRunner.query(`SELECT set_config('role', $1, true)`, [compactionRoleFromEnv()]);
      const repo = new CompactionRepository(queryRunner);
      let after: RecordKey | null = null;
      let compared = 0;
      let removed = 0;
      for (;;) {
        const keys = await repo.nextRecords(after, 250);
        if (keys.length === 0) break;
        const sql = await repo.judge(keys, 72);
        const pure = judgeRows(await repo.rowsOf(keys, 72));
        const sorted = (v: { remove: string[]; strip: { id: string; fields: string[] }[] }) => ({
          remove: [...v.remove].sort(),
          strip: v.strip.map((s) => `${s.id}:${[...s.fields].sort().join(',')}`).sort(),
        });
        expect(sorted(sql)).toEqual(sorted(pure));
        compared += sql.scanned;
        removed += sql.remove.length;
        after = keys[keys.length - 1];
      }
      expect(compared).toBe(rows.length);
      expect(removed).toBeGreaterThan(rows.length * 0.1);
    } finally {
      await queryRunner.rollbackTransaction();
      await queryRunner.release();
    }
  });

  it('a user whose rows are all live loses nothing, and a dry run changes nothing', async () => {
    const rows: [string, ModelRow][] = [];
    for (let i = 0; i < 20; i++) {
      const base = { userId: 'user-live', spaceId: null, actor: null, createdAt: '' };
      rows.push([
        `live-${i}`,
        {
          ...base,
          op: 'insert',
          data: { title: 't', updatedAt: '2026-01-01T00:00:00Z' },
          fieldMeta: {},
        },
      ]);
      rows.push([
        `live-${i}`,
        {
          ...base,
          op: 'update',
          data: { done: true },
          fieldMeta: { done: '2026-01-02T00:00:00Z' },
        },
      ]);
    }
    // Another user's superseded rows: the dry run counts them, the user's own run leaves them.
    for (let i = 0; i < 3; i++) {
      rows.push([
        'other',
        {
          userId: 'user-other',
          spaceId: null,
          actor: null,
          createdAt: '',
          op: 'update',
          data: { title: `x${i}` },
          fieldMeta: { title: `2026-01-0${i + 1}T00:00:00Z` },
        },
      ]);
    }
    for (const [recordId, row] of rows) await insertRow(db.pool, recordId, row, 1000);
    const before = await readLog(db.pool);

    const mine = await compaction.runPass({ userId: 'user-live', minAgeHours: 0 });
    expect(mine).toMatchObject({ ran: true, rowsRemoved: 0, fieldsStripped: 0 });
    const dry = await compaction.runPass({ dryRun: true, minAgeHours: 0 });
    expect(dry).toMatchObject({ ran: true, rowsRemoved: 2 });
    expect(await readLog(db.pool)).toEqual(before);

    // Young rows are kept, but still cover older ones.
    await compaction.runPass({ minAgeHours: 2000 });
    expect(await readLog(db.pool)).toEqual(before);
    await compaction.runPass({ minAgeHours: 0 });
    expect((await readLog(db.pool)).map((r) => r.id)).toEqual(
      before
        .slice(0, before.length - 3)
        .map((r) => r.id)
        .concat(before[before.length - 1].id),
    );
  });

  it('resumes where the last pass stopped, then starts again from the first record', async () => {
    for (const id of ['a', 'b', 'c']) {
      for (const [title, at] of [
        ['old', '2026-01-01T00:00:00Z'],
        ['new', '2026-01-02T00:00:00Z'],
      ]) {
        await insertRow(
          db.pool,
          id,
          {
            userId: 'user-r',
            spaceId: null,
            actor: null,
            createdAt: '',
            op: 'update',
            data: { title },
            fieldMeta: { title: at },
          },
          100,
        );
      }
    }
    // As if a pass had stopped after record "a" (its time limit, a crash, a restart).
    await db.pool.query(
      `INSERT INTO sync_compaction_state (id, table_name, record_id) VALUES (1, 'notes', 'a')`,
    );
    const titles = async () =>
      (await readLog(db.pool)).map(
        (r) => `${r.recordId}:${(r.row.data as { title: string }).title}`,
      );
    expect(await compaction.runPass()).toMatchObject({
      complete: true,
      records: 2,
      rowsRemoved: 2,
    });
    expect(await titles()).toEqual(['a:old', 'a:new', 'b:new', 'c:new']);
    expect((await db.pool.query(`SELECT * FROM sync_compaction_state`)).rows).toEqual([]);
    expect(await compaction.runPass()).toMatchObject({ records: 3, rowsRemoved: 1 });
    expect(await titles()).toEqual(['a:new', 'b:new', 'c:new']);
  });

  it('stops after the running batch when asked to (shutdown), and the next pass goes on', async () => {
    for (let i = 0; i < 10; i++) {
      for (const at of ['2026-01-01T00:00:00Z', '2026-01-02T00:00:00Z']) {
        await insertRow(
          db.pool,
          `stop-${String(i).padStart(2, '0')}`,
          {
            userId: 'user-s',
            spaceId: null,
            actor: null,
            createdAt: '',
            op: 'update',
            data: { title: at },
            fieldMeta: { title: at },
          },
          100,
        );
      }
    }
    const stopped = new AbortController();
    stopped.abort();
    expect(await compaction.runPass({ signal: stopped.signal })).toMatchObject({
      complete: false,
      batches: 1,
      rowsRemoved: 7,
    });
    expect(await compaction.runPass()).toMatchObject({ complete: true, rowsRemoved: 3 });
  });

  it('a batch stops early at its row bound, whatever the record count', async () => {
    for (const [id, n] of [
      ['long-1', 15_000],
      ['long-2', 15_000],
      ['short', 1],
    ] as const) {
      await db.pool.query(
        `INSERT INTO sync_changes (app_id, table_name, record_id, user_id, op, data, field_meta, client_id, created_at)
         SELECT 'notes-app', 'notes', $1, 'user-long', 'update', '{"title": "t"}', '{"title": "2026-01-01T00:00:00Z"}',
                'c', now() - interval '100 hours'
           FROM generate_series(1, $2::int)`,
        [id, n],
      );
    }
    const report = await compaction.runPass();
    // Seven records fit the record bound: the row bound made two batches (long-1 | long-2, short).
    expect(report).toMatchObject({ complete: true, batches: 2, records: 3, rowsRemoved: 29_998 });
  });

  it('young rows stay whole but cover older ones', async () => {
    const row = (title: string, at: string): ModelRow => ({
      userId: 'user-age',
      spaceId: null,
      actor: null,
      createdAt: '',
      op: 'update',
      data: { title },
      fieldMeta: { title: at },
    });
    await insertRow(db.pool, 'aged', row('old', '2026-01-01T00:00:00Z'), 100);
    await insertRow(db.pool, 'aged', row('young', '2026-01-02T00:00:00Z'), 1);
    await insertRow(db.pool, 'aged', row('younger', '2026-01-03T00:00:00Z'), 0);
    const report = await compaction.runPass({ minAgeHours: 72 });
    expect(report.rowsRemoved).toBe(1);
    expect((await readLog(db.pool)).map((r) => (r.row.data as { title: string }).title)).toEqual([
      'young',
      'younger',
    ]);
  });

  it('the request role still cannot delete or rewrite rows; the compaction role cannot insert', async () => {
    await insertRow(
      db.pool,
      'r',
      {
        userId: 'u',
        spaceId: null,
        actor: null,
        createdAt: '',
        op: 'insert',
        data: {},
        fieldMeta: {},
      },
      1,
    );
    const as = async (role: string, sql: string) => {
      const client = await db.pool.connect();
      try {
        await client.query('BEGIN');
        await client.query(
          `SELECT set_config('role', $1, true), set_config('app.current_user_id', 'u', true)`,
          [role],
        );
        await client.query(sql);
        await client.query('COMMIT');
      } catch (error) {
        await client.query('ROLLBACK');
        throw error;
      } finally {
        client.release();
      }
    };
    const rlsRole = rlsRoleFromEnv();
    const settings = { role: compactionRoleFromEnv() };
    await expect(as(rlsRole, `DELETE FROM sync_changes`)).rejects.toThrow(/permission denied/);
    await expect(as(rlsRole, `UPDATE sync_changes SET data = '{}'`)).rejects.toThrow(
      /permission denied/,
    );
    await expect(
      as(
        settings.role,
        `INSERT INTO sync_changes (app_id, table_name, record_id, user_id, op, client_id)
         VALUES ('a', 't', 'r', 'u', 'insert', 'c')`,
      ),
    ).rejects.toThrow(/permission denied/);
    await expect(as(settings.role, `UPDATE sync_changes SET user_id = 'x'`)).rejects.toThrow(
      /permission denied/,
    );
    expect((await readLog(db.pool, 'notes-app')).length).toBe(1);
  });

  it('one pass at a time: another instance holding the lock makes a pass skip', async () => {
    const other = await createStoreContext(db.url, { COMPACTION_INTERVAL_MS: '0' });
    try {
      const second = other.context.get(CompactionService);
      for (let i = 0; i < 30; i++) {
        for (const title of ['a', 'b']) {
          await insertRow(
            db.pool,
            `lock-${i}`,
            {
              userId: 'u',
              spaceId: null,
              actor: null,
              createdAt: '',
              op: 'update',
              data: { title },
              fieldMeta: { title: '2026-01-01T00:00:00Z' },
            },
            100,
          );
        }
      }
      const lock = await db.pool.connect();
      try {
        await lock.query('SELECT pg_advisory_lock(7316245901442012)');
        expect(await second.runPass()).toMatchObject({ ran: false, rowsRemoved: 0 });
      } finally {
        await lock.query('SELECT pg_advisory_unlock(7316245901442012)');
        lock.release();
      }
      // Two instances at once: passes never overlap (counted inside the lock, not by the
      // clock), and together they remove each row once.
      let inside = 0;
      let mostInside = 0;
      const counted = (runner: CompactionRunner) => {
        const withLock = runner.withLock.bind(runner);
        jest.spyOn(runner, 'withLock').mockImplementation((fn) =>
          withLock(async (session) => {
            mostInside = Math.max(mostInside, ++inside);
            try {
              return await fn(session);
            } finally {
              inside--;
            }
          }),
        );
      };
      counted(store.context.get(CompactionRunner));
      counted(other.context.get(CompactionRunner));
      const spans = await Promise.all(
        [compaction, second, compaction, second].map(async (service) => {
          const report = await service.runPass();
          return { ran: report.ran, removed: report.rowsRemoved };
        }),
      );
      expect(spans.some((s) => s.ran)).toBe(true);
      expect(mostInside).toBe(1);
      expect(spans.reduce((n, s) => n + s.removed, 0)).toBe(30);
      expect((await readLog(db.pool)).length).toBe(30);
    } finally {
      jest.restoreAllMocks();
      await other.close();
    }
  });
});
