import { toBackupEvent } from '../../src/backup/backup-format';
import { CHANGE_SELECT, ChangeRow } from '../../src/store/change-columns';
import { WIRE_PIECE_BYTES } from '../../src/store/wire-projection';
import { exportBackup, readZip } from '../support/backup-archive';
import { useService } from '../support/service-fixture';
import { SyncClient } from '../support/sync-client';
import { toServerChange } from '../support/wire-projection';

const EPOCH = '1970-01-01T00:00:00.000Z';
const BUDGET = 3000;
const USER = 'reader-user';

/**
 * Every reader of the log (pull and SSE read by COPY, the push answer by a prepared
 * statement, the export by COPY into archive lines) over the rows that are the edges of
 * the read path: pages that end exactly at the byte budget, rows read in pieces, and rows
 * whose JSON columns, space, origin or size are NULL. Each must serve what the JavaScript
 * projection of the row as pg parses it says (the wire change; the archive's exact bytes).
 */
describe('every reader at the edges of the read path', () => {
  const t = useService({ SYNC_PAGE_MAX_BYTES: `${BUDGET}` }, { membershipApi: false });
  let stored: ChangeRow[];

  beforeAll(async () => {
    const { pool } = t.db;
    // Written as the superuser, with sizes set exactly: 1,500 bytes each, so every page of
    // "exact" ends with its second row at exactly the budget.
    await pool.query(
      `INSERT INTO sync_changes (app_id, table_name, record_id, user_id, op, data, client_id, payload_bytes)
       SELECT 'todo', 'exact', 'e' || i, $1, 'insert', jsonb_build_object('n', i), 'writer', 1500
         FROM generate_series(1, 6) i`,
      [USER],
    );
    // NULL in every column that may hold one; no payload_bytes (rows of older writers).
    await pool.query(
      `INSERT INTO sync_changes (app_id, table_name, record_id, user_id, op, data, field_meta, client_id,
                                 space_id, actor, origin, payload_bytes)
       VALUES ('todo', 'nulls', 'n1', $1, 'insert', NULL, NULL, 'writer', NULL, NULL, NULL, NULL),
              ('todo', 'nulls', 'n2', $1, 'update', '{"a":1,"b":null}', NULL, 'writer', NULL, 'null', NULL, NULL),
              ('todo', 'nulls', 'n3', $1, 'delete', NULL, NULL, 'writer', NULL, NULL, NULL, NULL),
              ('todo', 'nulls', 'n4', $1, 'update', NULL, '{"a":"2026-01-01T00:00:00Z"}', 'writer',
               '_personal:${USER}', '{"by":"x"}', '', NULL)`,
      [USER],
    );
    // Rows read in pieces: several pieces each, multi-byte characters cut at piece ends.
    await pool.query(
      `INSERT INTO sync_changes (app_id, table_name, record_id, user_id, op, data, client_id, payload_bytes)
       SELECT 'todo', 'pieces', 'p' || i, $1, 'insert', d, 'writer', pg_column_size(d)
         FROM generate_series(1, 2) i,
              LATERAL (SELECT jsonb_build_object('blob', repeat('aü€😀"\\', $2::int + i)) AS d) x`,
      [USER, Math.floor(WIRE_PIECE_BYTES / 3)],
    );
    stored = (
      await pool.query<ChangeRow>(
        `SELECT ${CHANGE_SELECT} FROM sync_changes WHERE user_id = $1 ORDER BY tx_id, seq`,
        [USER],
      )
    ).rows;
  });

  const expected = (table: string): unknown[] =>
    stored.filter((r) => r.tableName === table).map((r) => toServerChange(r));

  /** Page after page from the epoch: each page's changes. */
  async function pages(
    read: (since: string) => Promise<{ body: any }>,
    key: 'serverChanges' | 'changes',
  ): Promise<unknown[][]> {
    const out: unknown[][] = [];
    let since = EPOCH;
    for (let i = 0; i < 20; i++) {
      const { body } = await read(since);
      out.push(body[key]);
      since = body.syncedUntil;
      if (!body.hasMore) return out;
    }
    throw new Error('no end after 20 pages');
  }

  let reader: SyncClient;
  beforeAll(async () => {
    reader = await t.client(USER, 'reader-device');
  });

  it.each(['exact', 'nulls', 'pieces'])('pull serves %s as the projection says', async (table) => {
    const got = await pages((since) => reader.pull(table, since), 'serverChanges');
    expect(got.flat()).toEqual(expected(table));
    if (table === 'exact') expect(got.map((p) => p.length)).toEqual([2, 2, 2]);
    if (table === 'pieces') expect(got.map((p) => p.length)).toEqual([1, 1]);
  });

  it('the push answer serves the same pages (all tables, in log order)', async () => {
    const got = await pages((since) => reader.push([], since), 'serverChanges');
    expect(got.flat()).toEqual(stored.map((r) => toServerChange(r)));
    // "exact" first: pages of two at exactly the budget; then the NULL rows (a few bytes
    // each, with the first piece row over the budget: never more than one row past it).
    expect(got.slice(0, 3).map((p) => p.length)).toEqual([2, 2, 2]);
  });

  it('an SSE stream catches up on the same pages', async () => {
    const stream = await reader.stream(['exact', 'nulls', 'pieces'], EPOCH);
    try {
      const events = await stream.waitFor(
        (all) =>
          ['exact', 'nulls', 'pieces'].every((table) =>
            all.some((e) => e.event === 'changes' && e.data.table === table && !e.data.hasMore),
          ),
        20_000,
      );
      for (const table of ['exact', 'nulls', 'pieces']) {
        const sent = events.filter((e) => e.event === 'changes' && e.data.table === table);
        expect(sent.flatMap((e) => e.data.changes)).toEqual(expected(table));
        if (table === 'exact') expect(sent.map((e) => e.data.changes.length)).toEqual([2, 2, 2]);
      }
    } finally {
      stream.close();
    }
  });

  it('the export writes each row as the line of its parsed row, byte for byte', async () => {
    const { status, body } = await exportBackup(reader.baseUrl, reader.token!);
    expect(status).toBe(200);
    const entries = await readZip(body);
    const events = entries.find((e) => e.name === 'events.jsonl')!.data;
    const lines = stored.map((row) => `${JSON.stringify(toBackupEvent(row))}\n`).join('');
    expect(events.equals(Buffer.from(lines))).toBe(true);
  });
});
