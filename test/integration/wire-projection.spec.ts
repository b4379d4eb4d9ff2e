import { randomUUID } from 'crypto';
import { seedFromEnv, seededRandom } from '../support/compaction-histories';
import { createStoreContext, StoreContext } from '../support/store-context';
import { createTestDatabase, TestDatabase } from '../support/test-database';
import { toServerChange } from '../support/wire-projection';
import { ChangeRow } from '../../src/store/change-columns';
import { WIRE_PIECE_BYTES } from '../../src/store/wire-projection';
import { textOf } from '../../src/common/json-text';
import { START } from '../../src/store/log-position';
import { TransactionHost } from '../../src/store/transaction-host';

/**
 * The page statement builds each wire change as JSON text in SQL (WIRE_CHANGE_SQL). Over
 * generated rows, odd ones included, it must mean exactly what the JavaScript projection
 * of the same row (as `pg` parses it) means: same keys (omitted stays omitted, null stays
 * null), same values, top-level keys in the same order.
 */

const USER = 'wire-user';
const APP = 'wire-app';
const ROWS = 400;
const seed = seedFromEnv();

type Random = () => number;

/** Keys that trip JavaScript objects or JSON escaping. */
const KEYS = [
  'title',
  'done',
  'spaceId',
  'deletedAt',
  '',
  'a"b',
  'back\\slash',
  'line\nbreak',
  'ü',
  '😀',
  '0',
  '10',
  '__proto__',
  'constructor',
  'toString',
  'hasOwnProperty',
];
const STRINGS = ['', 'x', 'quote " and \\', 'tab\tnew\nline', '\u0001\u001f', 'ü€😀', '</script>'];
/** Number spellings jsonb normalizes (1.0, 1e2) and numbers past 2^53. */
const NUMBERS = ['0', '-0', '1', '-7', '1.0', '1.50', '1e2', '1E-7', '0.1', '12345678901234567890'];
const SPACES = ['team-1', '_personal:wire-user', 'sp"ace'];
const TIMES = ['2026-12-01T10:00:00.000Z', '2020-02-29T23:59:59.999999Z', '1970-01-01T00:00:00Z'];

function pick<T>(random: Random, items: readonly T[]): T {
  return items[Math.floor(random() * items.length)];
}

/**
 * A string long enough that its row is read in pieces (WIRE_PIECE_BYTES), of one-, two-,
 * three- and four-byte characters, so that pieces end inside characters.
 */
function longString(random: Random): string {
  const parts = ['ab', 'ü', '€', '😀', '"', '\\n'];
  const length = WIRE_PIECE_BYTES + Math.floor(random() * WIRE_PIECE_BYTES * 2);
  let text = '';
  while (text.length < length) text += pick(random, parts).repeat(1 + Math.floor(random() * 50));
  return text;
}

/** Any JSON value, as text. */
function jsonText(random: Random, depth = 0): string {
  const kind = Math.floor(random() * (depth > 2 ? 4 : 6));
  switch (kind) {
    case 0:
      return JSON.stringify(random() < 0.1 ? longString(random) : pick(random, STRINGS));
    case 1:
      return pick(random, NUMBERS);
    case 2:
      return pick(random, ['true', 'false']);
    case 3:
      return 'null';
    case 4:
      return `[${Array.from({ length: Math.floor(random() * 3) }, () => jsonText(random, depth + 1)).join(',')}]`;
    default:
      return objectText(random, depth + 1);
  }
}

function objectText(random: Random, depth = 0, keys = KEYS): string {
  const names = new Set(Array.from({ length: Math.floor(random() * 5) }, () => pick(random, keys)));
  return `{${[...names].map((k) => `${JSON.stringify(k)}:${jsonText(random, depth)}`).join(',')}}`;
}

/**
 * JSON text with every object's keys sorted: equal exactly when the values mean the same
 * (own keys only, so `__proto__` is a key like any other; null and absent differ).
 */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const keys = Object.keys(value).sort();
    const entries = keys.map(
      (k) => `${JSON.stringify(k)}:${canonical((value as Record<string, unknown>)[k])}`,
    );
    return `{${entries.join(',')}}`;
  }
  return JSON.stringify(value);
}

interface GeneratedRow {
  id: string;
  tableName: string;
  recordId: string;
  op: string;
  data: string | null;
  fieldMeta: string | null;
  createdAt: string;
  schemaVersion: number;
  spaceId: string | null;
  actor: string | null;
  origin: string | null;
}

function generateRow(random: Random, i: number): GeneratedRow {
  const op = pick(random, ['insert', 'update', 'delete']);
  let data: string | null;
  let fieldMeta: string | null = '{}';
  const shape = random();
  if (shape < 0.06) data = null;
  else if (shape < 0.12) data = 'null';
  else if (op === 'delete') {
    data = pick(random, [
      `{"deletedAt":${JSON.stringify(pick(random, TIMES))}}`,
      `{"deletedAt":${JSON.stringify(pick(random, TIMES))},"extra":1}`,
      '{}',
      '{"deletedAt":null}',
      '{"deletedAt":5}',
      '{"deletedAt":{"at":"x"}}',
    ]);
  } else if (op === 'insert' && shape < 0.2) {
    // Rows of other writers (the Go server, SQL) may hold any JSON; it passes through.
    data = pick(random, ['[]', '[1,"a"]', '"text"', '3']);
  } else {
    data = objectText(random);
  }
  if (op === 'update' && data !== null && data.startsWith('{')) {
    // Times for some fields of data, none for others, a JSON null or a non-string for some.
    const names = Object.keys(JSON.parse(data) as object);
    const entries = names.flatMap((name) => {
      const r = random();
      if (r < 0.3) return [];
      const time = r < 0.8 ? JSON.stringify(pick(random, TIMES)) : pick(random, ['null', '7']);
      return [`${JSON.stringify(name)}:${time}`];
    });
    if (random() < 0.2) entries.push('"not-in-data":"2026-01-01T00:00:00Z"');
    fieldMeta = `{${entries.join(',')}}`;
  }
  if (random() < 0.1) fieldMeta = random() < 0.5 ? null : 'null';
  const actorShape = random();
  return {
    id: randomUUID(),
    tableName: pick(random, ['notes', 'tä"ble', 'x\ny']),
    recordId: `rec-${i}-${pick(random, ['', '"', '\\', 'ü'])}`,
    op,
    data,
    fieldMeta,
    createdAt: new Date(Date.UTC(2026, 0, 1) + Math.floor(random() * 3e10)).toISOString(),
    schemaVersion: Math.floor(random() * 4),
    spaceId: random() < 0.4 ? null : pick(random, SPACES),
    actor: actorShape < 0.3 ? null : actorShape < 0.4 ? 'null' : jsonText(random),
    origin: random() < 0.5 ? null : pick(random, ['', 'web', 'ö"rigin']),
  };
}

describe(`the SQL wire projection (SEED=${seed})`, () => {
  let db: TestDatabase;
  let store: StoreContext;

  beforeAll(async () => {
    db = await createTestDatabase();
    // No compaction: it would remove generated rows that later ones cover.
    store = await createStoreContext(db.url, { COMPACTION_INTERVAL_MS: '0' });
    const random = seededRandom(seed);
    const rows = Array.from({ length: ROWS }, (_, i) => generateRow(random, i));
    const column = <K extends keyof GeneratedRow>(key: K): GeneratedRow[K][] =>
      rows.map((r) => r[key]);
    // Microseconds as well: created_at is the fallback time of an update's fields.
    await db.pool.query(
      `INSERT INTO sync_changes (id, app_id, table_name, record_id, user_id, op, data, field_meta,
                                 client_id, created_at, schema_version, space_id, actor, origin,
                                 payload_bytes)
       SELECT r.id, $1, r.table_name, r.record_id, $2, r.op, r.data::jsonb, r.field_meta::jsonb,
              'writer', r.created_at::timestamptz + make_interval(secs => r.n % 1000 / 1e6),
              r.schema_version, r.space_id, r.actor::jsonb, r.origin,
              -- As a push writes it for odd rows; even rows are older, without a size.
              CASE WHEN r.n % 2 = 1 THEN coalesce(pg_column_size(r.data::jsonb), 0)
                     + coalesce(pg_column_size(r.field_meta::jsonb), 0)
                     + coalesce(pg_column_size(r.actor::jsonb), 0) END
         FROM unnest($3::uuid[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[],
                     $9::text[], $10::int[], $11::text[], $12::text[], $13::text[])
              WITH ORDINALITY AS r(id, table_name, record_id, op, data, field_meta, created_at,
                                   schema_version, space_id, actor, origin, n)`,
      [
        APP,
        USER,
        column('id'),
        column('tableName'),
        column('recordId'),
        column('op'),
        column('data'),
        column('fieldMeta'),
        column('createdAt'),
        column('schemaVersion'),
        column('spaceId'),
        column('actor'),
        column('origin'),
      ],
    );
  });

  afterAll(async () => {
    await store?.close();
    await db?.drop();
  });

  it('means what the JavaScript projection of the parsed row means, for every op and edge', async () => {
    const { rows: stored } = await db.pool.query<ChangeRow>(
      `SELECT id, app_id AS "appId", table_name AS "tableName", record_id AS "recordId",
              user_id AS "userId", op, data, field_meta AS "fieldMeta", client_id AS "clientId",
              to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS "createdAt",
              schema_version AS "schemaVersion", space_id AS "spaceId", actor, origin,
              tx_id AS "txId", seq
         FROM sync_changes WHERE user_id = $1 ORDER BY tx_id, seq`,
      [USER],
    );
    const read = (maxBytes?: number, copy?: boolean) =>
      store.runner.runAsUser({ userId: USER, spaceIds: SPACES }, () =>
        store.changes.changesSince({
          appId: APP,
          after: { txId: 0n, seq: 0n },
          limit: ROWS + 1,
          maxBytes,
          copy,
        }),
      );
    // Both forms of the page statement: with and without the byte budget (whose running sum
    // must count rows with a NULL data or field_meta, too), prepared and read by COPY.
    const pages = [
      await read(),
      await read(1e12),
      await read(undefined, true),
      await read(1e12, true),
    ];
    for (const page of pages) {
      expect(page.rows.map((r) => r.seq)).toEqual(stored.map((r) => r.seq));
      page.rows.forEach((row, i) => {
        const expected = JSON.stringify(toServerChange(stored[i]));
        expect({ seed, i, change: canonical(JSON.parse(textOf(row.wire))) }).toEqual({
          seed,
          i,
          change: canonical(JSON.parse(expected)),
        });
        expect(Object.keys(JSON.parse(textOf(row.wire)) as object)).toEqual(
          Object.keys(JSON.parse(expected) as object),
        );
      });
    }
    // Long rows came in pieces, short ones whole, with or without a stored size (rows were
    // inserted in order, the first one with a size).
    for (const page of [await read(), await read(undefined, true)]) {
      const forms = page.rows.map((r, i) => {
        if (typeof r.wire === 'string' || Buffer.isBuffer(r.wire)) {
          return i % 2 === 0 ? 'whole' : 'whole without a size';
        }
        return r.wire.length > 1 ? 'pieces' : 'one piece';
      });
      expect(new Set(forms)).toEqual(new Set(['whole', 'whole without a size', 'pieces']));
    }
    // The odd cases were generated, not only the plain ones.
    const ops = new Set(stored.map((r) => r.op));
    expect(ops).toEqual(new Set(['insert', 'update', 'delete']));
    expect(
      stored.some((r) => r.op === 'update' && r.data && Object.hasOwn(r.data, '__proto__')),
    ).toBe(true);
  });

  it('hands pieces on in position order without a sort that would hold them together', async () => {
    const host = store.context.get(TransactionHost);
    for (const spaceIds of [[], SPACES]) {
      for (const maxBytes of [undefined, 1e12]) {
        const spy = jest.spyOn(TransactionHost.prototype, 'query');
        const plan = await store.runner.runAsUser({ userId: USER, spaceIds }, async () => {
          await store.changes.changesSince({ appId: APP, after: START, limit: 50, maxBytes });
          const [sql, params] = spy.mock.calls.find(([text]) => text.includes('"pieceNo"'))!;
          spy.mockRestore();
          const [row] = await host.query<{ 'QUERY PLAN': { Plan: { 'Node Type': string } }[] }>(
            `EXPLAIN (FORMAT JSON) ${sql}`,
            params,
          );
          return row['QUERY PLAN'][0].Plan;
        });
        expect({ spaceIds, maxBytes, top: plan['Node Type'] }).toEqual({
          spaceIds,
          maxBytes,
          top: 'Nested Loop',
        });
      }
    }
  });

  it('cuts a row stored before payload_bytes by its stored size, however well it compressed', async () => {
    const user = 'wire-legacy';
    // 3.2 MB of text that pglz stores in about 40 KB: under WIRE_PIECE_BYTES as stored.
    await db.pool.query(
      `INSERT INTO sync_changes (app_id, table_name, record_id, user_id, op, data, client_id)
       VALUES ($1, 'files', 'old', $2, 'insert', jsonb_build_object('blob', repeat('abcdefgh', 400000)), 'go')`,
      [APP, user],
    );
    const [{ stored }] = (
      await db.pool.query<{ stored: number }>(
        `SELECT pg_column_size(data) AS stored FROM sync_changes WHERE user_id = $1`,
        [user],
      )
    ).rows;
    expect(stored).toBeLessThan(WIRE_PIECE_BYTES);
    const page = await store.runner.runAsUser({ userId: user, spaceIds: [] }, () =>
      store.changes.changesSince({
        appId: APP,
        after: START,
        limit: 10,
        maxBytes: 4 * 1024 * 1024,
      }),
    );
    expect(page.rows).toHaveLength(1);
    const [row] = page.rows;
    expect(Array.isArray(row.wire) && row.wire.length).toBeGreaterThan(40);
    expect(JSON.parse(textOf(row.wire)).data.blob).toBe('abcdefgh'.repeat(400000));
  });
});
