import {
  BinaryCopyParser,
  CopyTuple,
  int8Of,
  sqlLiteral,
  tupleOf,
} from '../../src/store/binary-copy';
import { textOf } from '../../src/common/json-text';
import { START } from '../../src/store/log-position';
import { TransactionHost } from '../../src/store/transaction-host';
import { seedFromEnv, seededRandom } from '../support/compaction-histories';
import { createStoreContext, newChange, StoreContext } from '../support/store-context';
import { createTestDatabase, TestDatabase } from '../support/test-database';

/**
 * Reads by COPY (FORMAT binary): COPY takes no bind parameters, so its values are literals
 * (sqlLiteral), its bytes are parsed on Buffers (BinaryCopyParser), and RLS must hold
 * whatever the statement says.
 */

const seed = seedFromEnv();

/** Strings that break naive quoting, or the E'' form, or the encoding. */
const HOSTILE = [
  "'",
  "''",
  "\\'",
  "x'); DROP TABLE sync_changes; --",
  "' OR '1'='1",
  '\\',
  '\\\\',
  "\\'; SELECT 1; --",
  "E'\\x00'",
  '$1',
  '$$; SELECT 1; $$',
  '"quoted"',
  'ü€😀',
  '\n\r\t',
  '*/ /*',
  ')) TO STDOUT; COPY (SELECT 1',
];

describe(`reads by COPY (SEED=${seed})`, () => {
  let db: TestDatabase;
  let store: StoreContext;
  let host: TransactionHost;

  beforeAll(async () => {
    db = await createTestDatabase();
    store = await createStoreContext(db.url, { COMPACTION_INTERVAL_MS: '0' });
    host = store.context.get(TransactionHost);
  });

  afterAll(async () => {
    await store?.close();
    await db?.drop();
  });

  /** The raw bytes of a COPY in the user's transaction, each CopyData payload copied. */
  const copyBytes = (userId: string, sql: string): Promise<Buffer[]> =>
    store.runner.runAsUser({ userId, spaceIds: [] }, async () => {
      const chunks: Buffer[] = [];
      await host.copyOut(sql, (chunk) => chunks.push(Buffer.from(chunk)));
      return chunks;
    });

  const tuplesOf = (chunks: Buffer[], fields: number): CopyTuple[] => {
    const tuples: CopyTuple[] = [];
    const parser = new BinaryCopyParser(fields, (t) =>
      tuples.push(tupleOf(t).map((f) => f && Buffer.from(f))),
    );
    for (const chunk of chunks) parser.push(chunk);
    parser.finish();
    return tuples;
  };

  it('reads every hostile text back as it was, as a literal in the statement', async () => {
    for (const text of HOSTILE) {
      const chunks = await copyBytes(
        'copy-user',
        `COPY (SELECT ${sqlLiteral.text(text)}::text, (${sqlLiteral.textArray(['a', text])})[2]) TO STDOUT (FORMAT binary)`,
      );
      const [[value, element]] = tuplesOf(chunks, 2);
      expect({ text, read: value!.toString('utf8') }).toEqual({ text, read: text });
      expect({ text, read: element!.toString('utf8') }).toEqual({ text, read: text });
    }
  });

  it('refuses what cannot be a literal of its type', () => {
    expect(() => sqlLiteral.text('a\0b')).toThrow(/NUL/);
    expect(() => sqlLiteral.text(5 as unknown as string)).toThrow(TypeError);
    expect(() => sqlLiteral.bigint('1; SELECT 1' as unknown as bigint)).toThrow(TypeError);
    expect(() => sqlLiteral.integer(1.5)).toThrow(TypeError);
    expect(() => sqlLiteral.integer(Number.NaN)).toThrow(TypeError);
    expect(() => sqlLiteral.integer('1) OR (1' as unknown as number)).toThrow(TypeError);
    expect(sqlLiteral.bigint(-5n)).toBe('-5::bigint');
  });

  it('pages by COPY with hostile table names and client ids: exactly the matching rows', async () => {
    const userId = 'copy-hostile';
    await store.runner.runAsUser({ userId, spaceIds: [] }, () =>
      store.changes.insertBatch(
        HOSTILE.map((text, i) =>
          newChange({ tableName: text, recordId: `r${i}`, clientId: text, appId: 'todo' }),
        ),
      ),
    );
    for (const text of HOSTILE) {
      const page = await store.runner.runAsUser({ userId, spaceIds: [text] }, () =>
        store.changes.changesSince({
          appId: 'todo',
          tableName: text,
          after: START,
          limit: 100,
          maxBytes: 1e9,
          copy: true,
        }),
      );
      expect({ text, rows: page.rows.length }).toEqual({ text, rows: 1 });
      const excluded = await store.runner.runAsUser({ userId, spaceIds: [] }, () =>
        store.changes.changesSince({
          appId: 'todo',
          tableName: text,
          excludeClientId: text,
          after: START,
          limit: 100,
          copy: true,
        }),
      );
      expect({ text, rows: excluded.rows.length }).toEqual({ text, rows: 0 });
    }
    // Nothing was dropped or changed by any of them.
    const { rows } = await db.pool.query(
      'SELECT count(*)::int AS n FROM sync_changes WHERE user_id = $1',
      [userId],
    );
    expect(rows[0].n).toBe(HOSTILE.length);
  });

  it('applies RLS to a COPY that forgets its WHERE: another user reads nothing', async () => {
    await store.runner.runAsUser({ userId: 'copy-owner', spaceIds: [] }, () =>
      store.changes.insertBatch([newChange(), newChange()]),
    );
    const sql = 'COPY (SELECT id::text, user_id FROM sync_changes) TO STDOUT (FORMAT binary)';
    const owners = tuplesOf(await copyBytes('copy-owner', sql), 2).map((t) => t[1]!.toString());
    expect(owners.length).toBeGreaterThanOrEqual(2);
    expect(new Set(owners)).toEqual(new Set(['copy-owner']));
    expect(tuplesOf(await copyBytes('copy-nobody', sql), 2)).toEqual([]);
  });

  it('parses rows cut at every byte, NULL columns included, as the whole stream', async () => {
    const sql = `COPY (SELECT n::bigint, CASE WHEN n % 3 = 0 THEN NULL ELSE repeat('ü', n) END,
                        CASE WHEN n % 2 = 0 THEN NULL ELSE decode(repeat('00ff', n), 'hex') END
                   FROM generate_series(0, 12) n) TO STDOUT (FORMAT binary)`;
    const whole = Buffer.concat(await copyBytes('copy-user', sql));
    const expected = tuplesOf([whole], 3);
    expect(expected).toHaveLength(13);
    expect(expected.map((t) => Number(int8Of(t[0]!)))).toEqual([...Array(13).keys()]);
    expect(expected[3][1]).toBeNull();
    expect(expected[4][2]).toBeNull();
    expect(expected[5][1]!.toString()).toBe('ü'.repeat(5));
    expect(expected[5][2]).toEqual(Buffer.from('00ff'.repeat(5), 'hex'));
    // Every single cut, then random cuts into many pieces.
    for (let cut = 0; cut <= whole.length; cut++) {
      expect(tuplesOf([whole.subarray(0, cut), whole.subarray(cut)], 3)).toEqual(expected);
    }
    const random = seededRandom(seed);
    for (let round = 0; round < 50; round++) {
      const chunks: Buffer[] = [];
      for (let at = 0; at < whole.length;) {
        const next = Math.min(whole.length, at + 1 + Math.floor(random() * 40));
        chunks.push(whole.subarray(at, next));
        at = next;
      }
      expect(tuplesOf(chunks, 3)).toEqual(expected);
    }
    // A stream cut short, or of other columns than expected, fails instead of being misread.
    expect(() => tuplesOf([whole.subarray(0, whole.length - 2)], 3)).toThrow(/trailer/);
    expect(() => tuplesOf([whole], 2)).toThrow(/fields/);
    expect(() => tuplesOf([Buffer.from('not a copy stream at all')], 3)).toThrow(/signature/);
  });

  it('hands any first n changes of a page on as runs of bytes, long rows in pieces between them', async () => {
    const userId = 'copy-runs';
    const long = (n: number) => 'ü€😀'.repeat(9000 + n * 3000);
    await store.runner.runAsUser({ userId, spaceIds: [] }, () =>
      store.changes.insertBatch(
        Array.from({ length: 12 }, (_, i) =>
          newChange({
            recordId: `run-${i}`,
            data: { text: i % 4 === 2 ? long(i) : `short ${i}`, n: i },
          }),
        ),
      ),
    );
    const read = (copy: boolean) =>
      store.runner.runAsUser({ userId, spaceIds: [] }, () =>
        store.changes.changesSince({ appId: 'todo', after: START, limit: 100, copy }),
      );
    const [copied, prepared] = [await read(true), await read(false)];
    const expected = prepared.rows.map((r) => JSON.parse(textOf(r.wire)) as unknown);
    expect(expected).toHaveLength(12);
    // Long rows (a fifth of them) came as pieces, and the short ones around them as runs.
    expect(copied.rows.filter((r) => Array.isArray(r.wire))).toHaveLength(3);
    for (let n = 0; n <= 12; n++) {
      const items = copied.wire(n);
      expect(items.length).toBeLessThanOrEqual(n);
      const joined = JSON.parse(`[${items.map(textOf).join(',')}]`) as unknown[];
      expect({ n, joined }).toEqual({ n, joined: expected.slice(0, n) });
    }
    expect(copied.rows.map((r) => [r.txId, r.seq])).toEqual(
      prepared.rows.map((r) => [r.txId, r.seq]),
    );
  });

  it('fails the read when a statement before the COPY failed, and the transaction with it', async () => {
    await expect(
      store.runner.runAsUser({ userId: 'copy-user', spaceIds: [] }, async () => {
        const failing = host.query('SELECT 1/0');
        const copy = host.copyOut('COPY (SELECT 1) TO STDOUT (FORMAT binary)', () => undefined);
        await Promise.allSettled([failing, copy]);
        await copy;
      }),
    ).rejects.toThrow(/division by zero/);
  });
});
