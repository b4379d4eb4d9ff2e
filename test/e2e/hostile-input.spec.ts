import { adminQuery } from '../support/test-database';
import { useService } from '../support/service-fixture';
import { SyncClient } from '../support/sync-client';
import { seededRandom as random } from '../support/seeded-random';

const EPOCH = '1970-01-01T00:00:00.000Z';

/** A JSON text nested `depth` arrays deep, as a client could send it (JSON.stringify would recurse). */
function deepJson(depth: number): string {
  return `${'['.repeat(depth)}1${']'.repeat(depth)}`;
}

function rawPush(changesJson: string[], extra = ''): string {
  return `{"clientId":"c-raw","since":"${EPOCH}"${extra},"changes":[${changesJson.join(',')}]}`;
}

describe('hostile and odd input: 400 (or stored as sent), never a 5xx', () => {
  const t = useService({}, { membershipApi: false });
  let writer: SyncClient;
  let reader: SyncClient;

  beforeAll(async () => {
    writer = await t.client('user-h', 'device-w');
    reader = await t.client('user-h', 'device-r');
  });

  it.each(['data', 'fields', 'actor'])(
    'refuses %s nested 2,400 levels deep with 400 naming the change index',
    async (key) => {
      const deep = deepJson(2400);
      const value =
        key === 'fields' ? `{"f":{"value":${deep}}}` : key === 'data' ? `{"a":${deep}}` : deep;
      const op = key === 'fields' ? 'update' : 'insert';
      const body = rawPush([
        '{"table":"deep","id":"ok","op":"insert","data":{}}',
        `{"table":"deep","id":"x","op":"${op}","data":{},"${key}":${value}}`.replace(
          key === 'data' ? '"data":{},' : '',
          '',
        ),
      ]);
      const { status, body: answer } = await writer.request('POST', '/sync/todo', body);
      expect(status).toBe(400);
      expect(answer.message).toMatch(
        new RegExp(`^changes\\[1\\]\\.${key}.* nested deeper than 64`),
      );
    },
  );

  it('refuses a non-finite number (1e400) instead of storing null', async () => {
    const body = rawPush(['{"table":"nums","id":"n","op":"insert","data":{"big":1e400}}']);
    const { status, body: answer } = await writer.request('POST', '/sync/todo', body);
    expect(status).toBe(400);
    expect(answer.message).toMatch(/changes\[0\]\.data\.big/);
  });

  it('takes schemaVersion null, at the top and per change, as the default', async () => {
    const { status } = await writer.push(
      [{ table: 'nulls', id: 'v', op: 'insert', data: { a: 1 }, schemaVersion: null }],
      EPOCH,
      { schemaVersion: null },
    );
    expect(status).toBe(200);
    const { changes } = await reader.pullAll('nulls');
    expect(changes).toEqual([
      expect.objectContaining({ id: 'v', schemaVersion: 1, data: { a: 1 } }),
    ]);
  });

  it('answers a time that does not exist (Feb 30) with a 400 about since', async () => {
    const since = '2024-02-30T10:00:00.000Z';
    const push = await writer.push([], since);
    const pull = await reader.pull('tasks', since);
    for (const { status, body } of [push, pull]) {
      expect(status).toBe(400);
      expect(body.message).toMatch(/^since must be a cursor or an ISO-8601 time/);
    }
  });

  it('keeps the cursor in 4-digit years for a since at the end of year 9999', async () => {
    for (const since of ['9999-12-31T23:59:59.999Z', '9999-12-31T23:59:59.999999Z']) {
      const { status, body } = await reader.pull('tasks', since);
      expect(status).toBe(200);
      expect(body.syncedUntil).toMatch(/^9999-12-31T23:59:59\.999\d{38}Z$/);
      expect((await reader.pull('tasks', body.syncedUntil)).status).toBe(200);
    }
  });

  it('refuses NUL and lone surrogates in record ids with 400', async () => {
    for (const id of ['a\u0000b', 'a\ud800b']) {
      const { status, body } = await writer.push([{ table: 'ids', id, op: 'insert', data: {} }]);
      expect(status).toBe(400);
      expect(body.message).toMatch(/^changes\.0\.id /);
    }
  });
});

const SEED = Number(process.env.SEED ?? Date.now() % 1_000_000);
// FUZZ_REQUESTS=5000 for a longer run than CI's.
const REQUESTS = Number(process.env.FUZZ_REQUESTS ?? 120);

describe(`garbage pushes over HTTP (SEED=${SEED})`, () => {
  // Capacity, not the per-user rate limit, bounds a long run.
  const t = useService(
    { RATE_LIMIT_PUSH_PER_MINUTE: '0', RATE_LIMIT_PULL_PER_MINUTE: '0' },
    { membershipApi: false },
  );
  const rnd = random(SEED);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(rnd() * items.length)];
  const chance = (p: number): boolean => rnd() < p;
  /** Half of the requests are well-formed (odd values only), so both outcomes are exercised. */
  let clean = false;
  const garbage = (p: number): boolean => !clean && chance(p);

  const STRINGS = [
    '',
    'x',
    'ü',
    '😀',
    'a\u0000b',
    '\ud800',
    '2024-02-30T10:00:00Z',
    '1e400',
    'null',
    ' ',
  ];
  const SAFE = ['', 'x', 'ü', '😀', '2024-02-30T10:00:00Z', '1e400', 'null', ' ', '\\u0000'];
  const text = () => pick(clean ? SAFE : STRINGS);
  const KEYS = ['a', 'b', 'title', '', '__proto__', 'constructor', 'ä', '😀', 'x'.repeat(300)];

  function scalar(): unknown {
    return pick<() => unknown>([
      text,
      () => 'y'.repeat(Math.floor(rnd() * 50)),
      () => Math.floor(rnd() * 1e6) - 5e5,
      () => rnd() * 1e300,
      () => -0,
      () => 5e-324,
      () => true,
      () => null,
    ])();
  }

  function json(depth: number): unknown {
    if (depth > 0 && chance(0.4)) {
      if (chance(0.5)) return Array.from({ length: Math.floor(rnd() * 4) }, () => json(depth - 1));
      const o: Record<string, unknown> = {};
      for (let i = Math.floor(rnd() * 4); i > 0; i--) o[pick(KEYS)] = json(depth - 1);
      return o;
    }
    return scalar();
  }

  /** Nested past the bound now and then (as text, see deepJson), else ordinary. */
  function opaque(): unknown {
    return garbage(0.05) ? { deep: JSON.parse(deepJson(70)) } : json(4);
  }

  function maybe(value: () => unknown, p = 0.1): unknown {
    if (garbage(p)) return pick([null, 42, {}, [], true, pick(STRINGS), 1.5]);
    return value();
  }

  function change(i: number, j: number): Record<string, unknown> {
    const op = maybe(() => pick(['insert', 'update', 'delete']), 0.05);
    const c: Record<string, unknown> = {
      table: maybe(() => `t${i}`, 0.05),
      id: maybe(() => `r${j}-${text()}`, 0.05),
      op,
    };
    if (clean || chance(0.7)) c.data = maybe(() => (clean ? { v: opaque() } : opaque()), 0.1);
    if (chance(0.5)) {
      const fields: Record<string, unknown> = {};
      for (let k = Math.floor(rnd() * 3); k > 0; k--) {
        fields[pick(KEYS)] = maybe(
          () => ({
            value: opaque(),
            ...(chance(0.5) ? { at: clean ? new Date().toISOString() : pick(STRINGS) } : {}),
          }),
          0.1,
        );
      }
      c.fields = maybe(() => fields, 0.05);
    }
    if (chance(0.2)) c.actor = opaque();
    if (chance(0.2)) {
      c.schemaVersion = maybe(() => pick(clean ? [0, 1, null] : [0, 1, null, 2, -1, 1.5]), 0.2);
    }
    if (chance(0.2)) c.eventId = maybe(() => pick(['', 'e', crypto.randomUUID()]), 0.2);
    if (chance(0.1)) c.deletedAt = maybe(() => new Date().toISOString(), 0.3);
    if (chance(0.1)) c.origin = maybe(text, 0.3);
    if (garbage(0.05)) c.spaceId = pick([42, null, {}, '']);
    if (chance(0.05)) c.junk = opaque();
    return c;
  }

  /** What a reader must get back for a stored change (values only; jsonb drops -0's sign). */
  function expected(c: Record<string, unknown>): Record<string, unknown> {
    const normal = (v: unknown) => JSON.parse(JSON.stringify(v ?? null));
    const fields = c.fields as Record<string, { value: unknown }> | undefined;
    const values =
      fields && Object.fromEntries(Object.entries(fields).map(([k, f]) => [k, f.value]));
    if (c.op === 'insert') return { op: 'insert', id: c.id, data: normal(c.data ?? values) };
    if (c.op === 'update') return { op: 'update', id: c.id, values: normal(values ?? c.data) };
    return { op: 'delete', id: c.id };
  }

  function projected(s: Record<string, any>): Record<string, unknown> {
    if (s.op === 'insert') return { op: 'insert', id: s.id, data: s.data };
    if (s.op === 'update') {
      const values = Object.fromEntries(
        Object.entries(s.fields as Record<string, { value: unknown }>).map(([k, f]) => [
          k,
          f.value,
        ]),
      );
      return { op: 'update', id: s.id, values };
    }
    return { op: 'delete', id: s.id };
  }

  it(`answers ${REQUESTS} generated pushes with 400, or stores them as sent`, async () => {
    const writer = await t.client('user-g', 'device-w');
    const reader = await t.client('user-g', 'device-r');
    const statuses: Record<number, number> = {};
    const cursors = new Map<string, string>();
    for (let i = 0; i < REQUESTS; i++) {
      clean = chance(0.5);
      const changes = Array.from({ length: 1 + Math.floor(rnd() * 3) }, (_, j) => change(i, j));
      const extra: Record<string, unknown> = {};
      if (garbage(0.1)) extra.schemaVersion = pick([null, 0, 1, 2, '1', 1.5]);
      if (garbage(0.05)) extra.changes = pick([null, {}, 'x']);
      const since = garbage(0.1) ? pick([...STRINGS, '9999-12-31T23:59:59.999Z']) : EPOCH;
      const { status, body } = await writer.push(changes, since as string, extra);
      statuses[status] = (statuses[status] ?? 0) + 1;
      const context = `request ${i} (SEED=${SEED}): ${JSON.stringify({ changes, extra, since }).slice(0, 2000)} → ${status} ${JSON.stringify(body).slice(0, 500)}`;
      if (status !== 200 && status !== 400) throw new Error(`unexpected status for ${context}`);
      if (status === 400) {
        expect(typeof body.message).toBe('string');
        expect(JSON.stringify(body)).not.toMatch(/INSERT|SELECT|jsonb_to_recordset/);
        continue;
      }
      // A garbage table name that is still a valid one (e.g. " ") is stored under that name:
      // read each table this push wrote from where the reader last left it.
      for (const table of new Set(changes.map((c) => c.table as string))) {
        const { changes: stored, cursor } = await reader.pullAll(table, cursors.get(table));
        cursors.set(table, cursor);
        try {
          expect(stored.map(projected)).toEqual(
            changes.filter((c) => c.table === table).map(expected),
          );
        } catch (error) {
          throw new Error(`read back differs for ${context}\n${(error as Error).message}`, {
            cause: error,
          });
        }
      }
    }
    console.log(`garbage pushes (SEED=${SEED}): ${JSON.stringify(statuses)}`);
    // The generator must exercise both outcomes, or the test proves nothing.
    expect(statuses[200]).toBeGreaterThan(5);
    expect(statuses[400]).toBeGreaterThan(5);
  });
});

describe('a database that refuses or drops connections', () => {
  const t = useService(
    {},
    {
      membershipApi: false,
      beforeStart: async ({ db }) => {
        await db.pool.query(`
          CREATE FUNCTION test_slow_insert() RETURNS trigger LANGUAGE plpgsql AS $$
          BEGIN
            IF NEW.record_id = 'slow' THEN PERFORM pg_sleep(2); END IF;
            RETURN NEW;
          END $$`);
        await db.pool.query(`
          CREATE TRIGGER test_slow_insert BEFORE INSERT ON sync_changes
            FOR EACH ROW EXECUTE FUNCTION test_slow_insert()`);
      },
    },
  );

  it('answers 503 with Retry-After when the connection dies under a push', async () => {
    const client = await t.client('user-d', 'device-d');
    const pushing = client.push([{ table: 'tasks', id: 'slow', op: 'insert', data: {} }]);
    for (let i = 0; i < 50; i++) {
      const { rowCount } = await t.db.pool.query(
        `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
          WHERE datname = current_database() AND application_name = 'sync-server'
            AND wait_event = 'PgSleep'`,
      );
      if (rowCount) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const lost = await pushing;
    expect(lost.status).toBe(503);
    expect(lost.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(
      (await client.push([{ table: 'tasks', id: 'next', op: 'insert', data: {} }])).status,
    ).toBe(200);
  });

  it('answers 503 with Retry-After (SQLSTATE 55000 at connect), and 200 once it allows them again', async () => {
    const client = await t.client('user-c', 'device-c');
    const push = (id: string) => client.push([{ table: 'tasks', id, op: 'insert', data: {} }]);
    expect((await push('before')).status).toBe(200);
    await adminQuery(`ALTER DATABASE ${t.db.name} ALLOW_CONNECTIONS false`);
    try {
      // The pool's idle connections go, so the next push must open a new one.
      await adminQuery(
        `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
          WHERE datname = '${t.db.name}' AND application_name = 'sync-server'`,
      );
      await new Promise((resolve) => setTimeout(resolve, 200));
      const refused = await push('refused');
      expect(refused.status).toBe(503);
      expect(refused.headers.get('retry-after')).toMatch(/^\d+$/);
      expect(refused.body).toEqual({
        statusCode: 503,
        error: 'Service Unavailable',
        message: 'The database is unavailable, please retry shortly',
      });
    } finally {
      await adminQuery(`ALTER DATABASE ${t.db.name} ALLOW_CONNECTIONS true`);
    }
    expect((await push('after')).status).toBe(200);
  });
});
