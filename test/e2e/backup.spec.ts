import { createHash } from 'crypto';
import { Readable } from 'stream';
import { RlsTransactionRunner } from '../../src/store/rls-transaction.runner';
import { TransactionHost } from '../../src/store/transaction-host';
import {
  exportBackup,
  importBackup,
  presetSpaceIdsModule,
  readZip,
  writeZip,
} from '../support/backup-archive';
import { useService } from '../support/service-fixture';
import { SyncClient } from '../support/sync-client';
import { startTestApp, TestApp } from '../support/test-app';

const EVENT_KEYS = [
  'eventId',
  'schemaVersion',
  'appId',
  'table',
  'id',
  'op',
  'data',
  'fieldMeta',
  'spaceId',
  'actor',
  'origin',
  'clientId',
  'createdAt',
];

describe('backup export and import over HTTP', () => {
  const t = useService(
    {},
    {
      beforeStart: ({ auth }) => {
        auth.memberships.set('user-a', ['space-s']);
        auth.memberships.set('user-b', ['space-s']);
      },
      // Requests arrive as members of space-s even where no MembershipGuard runs (the export).
      imports: [presetSpaceIdsModule(['space-s'])],
    },
  );
  let tokenA: string;
  let tokenB: string;
  let archiveA: Buffer;

  const collections = [
    { appId: 'todo', table: 'tasks' },
    { appId: 'todo', table: 'lists' },
    { appId: 'notes', table: 'notes' },
  ];

  /** Every column that a restore must bring back, times to the microsecond, in log order. */
  async function rowsOf(userId: string) {
    const { rows } = await t.db.pool.query(
      `SELECT id, app_id, table_name, record_id, user_id, op, data, field_meta, client_id,
              to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS created_at,
              schema_version, actor, origin, space_id
         FROM sync_changes WHERE user_id = $1 ORDER BY tx_id, seq`,
      [userId],
    );
    return rows;
  }

  async function countAll(): Promise<number> {
    const { rows } = await t.db.pool.query('SELECT count(*)::int AS n FROM sync_changes');
    return rows[0].n;
  }

  /** What a fresh device of user A receives when it syncs every collection from the start. */
  async function pullsOfA() {
    const result: Record<string, unknown[]> = {};
    for (const { appId, table } of collections) {
      const observer = new SyncClient(t.service.url, tokenA, 'fresh-device', appId);
      result[`${appId}/${table}`] = (await observer.pullAll(table)).changes;
    }
    return result;
  }

  beforeAll(async () => {
    tokenA = await t.auth.token('user-a');
    tokenB = await t.auth.token('user-b');

    const actor = { kind: 'ai', agent: { id: 'agent-7', model: 'x' }, tags: ['a', 1, null] };
    const todoPhone = new SyncClient(t.service.url, tokenA, 'a-phone', 'todo');
    const todoLaptop = new SyncClient(t.service.url, tokenA, 'a-laptop', 'todo');
    const notes = new SyncClient(t.service.url, tokenA, 'a-laptop', 'notes');
    const pushes = [
      todoPhone.push([
        {
          eventId: '0b8d3c52-6f39-4f4e-a8c4-1f0c2b9e7a11',
          table: 'tasks',
          id: 't1',
          op: 'insert',
          data: { title: 'Buy milk', done: false, tags: ['x'], n: 1.5 },
          actor,
          origin: 'agent',
          spaceId: 'space-s',
        },
        {
          table: 'tasks',
          id: 't2',
          op: 'insert',
          data: { title: 'Mine', spaceId: '_personal:user-a' },
        },
        { table: 'lists', id: 'l1', op: 'insert', data: { name: 'Home' } },
      ]),
      todoLaptop.push([
        {
          table: 'tasks',
          id: 't1',
          op: 'update',
          fields: {
            title: { value: 'Buy oat milk', at: '2026-11-27T10:00:00.123Z' },
            done: { value: true, updatedAt: '2026-11-27T10:00:01.000Z' },
          },
          origin: 'user',
          spaceId: 'space-s',
        },
      ]),
      todoPhone.push([
        { table: 'tasks', id: 't2', op: 'delete', deletedAt: '2026-11-27T11:00:00.000Z' },
        {
          table: 'lists',
          id: 'l1',
          op: 'update',
          fields: { name: { value: 'Haus', at: '2026-11-27T12:00:00Z' } },
        },
      ]),
      notes.push([
        {
          table: 'notes',
          id: 'n1',
          op: 'insert',
          data: { text: 'hello\nworld "quoted" \u00e9\u4e2d' },
        },
        // An empty origin is a valid one for a push, so its archive must restore it too.
        {
          table: 'notes',
          id: 'n2',
          op: 'insert',
          data: {},
          actor: 'plain-string-actor',
          origin: '',
        },
        { table: 'notes', id: 'n1', op: 'delete', deletedAt: '2026-11-27T13:00:00.000Z' },
      ]),
    ];
    for (const push of pushes) expect((await push).status).toBe(200);

    const todoB = new SyncClient(t.service.url, tokenB, 'b-phone', 'todo');
    const notesB = new SyncClient(t.service.url, tokenB, 'b-phone', 'notes');
    expect(
      (await todoB.push([{ table: 'tasks', id: 'b1', op: 'insert', data: { title: 'B' } }])).status,
    ).toBe(200);
    expect(
      (await notesB.push([{ table: 'notes', id: 'bn', op: 'insert', data: { text: 'B' } }])).status,
    ).toBe(200);
  });

  it("never puts A's rows into B's export, even those in a space B is a member of", async () => {
    const rowsOfA = await rowsOf('user-a');
    const inSpace = rowsOfA.filter((r) => r.space_id === 'space-s');
    expect(inSpace.length).toBeGreaterThan(0);
    // The trap is armed: B's transactions may read A's space rows (RLS member policy)...
    const memberPull = await new SyncClient(t.service.url, tokenB, 'b-tablet', 'todo').pullAll(
      'tasks',
    );
    expect(memberPull.changes.map((c: any) => c.eventId)).toEqual(
      expect.arrayContaining(inSpace.map((r) => r.id)),
    );
    const runner = t.service.app.get(RlsTransactionRunner);
    const host = t.service.app.get(TransactionHost);
    const visible = await runner.runAsUser({ userId: 'user-b', spaceIds: ['space-s'] }, () =>
      host.manager.query(`SELECT count(*)::int AS n FROM sync_changes WHERE user_id = 'user-a'`),
    );
    expect(visible[0].n).toBe(inSpace.length);

    // ...and the export runs as such a member; still only B's own rows come out.
    const spy = jest.spyOn(runner, 'runAsUser');
    try {
      const exported = await exportBackup(t.service.url, tokenB);
      expect(exported.status).toBe(200);
      expect(spy).toHaveBeenCalledWith(
        expect.objectContaining({ userId: 'user-b', spaceIds: ['space-s'] }),
        expect.any(Function),
      );
      const entries = await readZip(exported.body);
      const events = entries[0].data
        .toString()
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l));
      expect(events.map((e) => e.eventId)).toEqual((await rowsOf('user-b')).map((r) => r.id));
      const manifest = JSON.parse(entries[1].data.toString());
      expect(manifest).toMatchObject({ userId: 'user-b', eventCount: 2, apps: ['notes', 'todo'] });
    } finally {
      spy.mockRestore();
    }
  });

  it("refuses A's archive imported by B (403) and writes nothing", async () => {
    const exported = await exportBackup(t.service.url, tokenA);
    expect(exported.status).toBe(200);
    archiveA = exported.body;
    await t.db.pool.query(`DELETE FROM sync_changes WHERE user_id = 'user-a'`);
    const before = await countAll();
    const response = await importBackup(t.service.url, tokenB, archiveA);
    expect(response.status).toBe(403);
    expect(response.body).toEqual({
      statusCode: 403,
      error: 'Forbidden',
      message: 'The archive belongs to another user',
    });
    expect(await countAll()).toBe(before);
    // Put A's rows back for the round trip.
    expect((await importBackup(t.service.url, tokenA, archiveA)).status).toBe(200);
  });

  it('round-trips every row and the pull results through export, wipe and import; a second import adds nothing', async () => {
    const rowsBefore = await rowsOf('user-a');
    expect(rowsBefore.map((r) => r.op).sort()).toEqual(
      expect.arrayContaining(['insert', 'update', 'delete']),
    );
    const pullsBefore = await pullsOfA();

    const exported = await exportBackup(t.service.url, tokenA);
    expect(exported.status).toBe(200);
    expect(exported.headers.get('content-type')).toBe('application/zip');
    expect(exported.headers.get('cache-control')).toBe('no-store');
    expect(exported.headers.get('content-disposition')).toMatch(
      /^attachment; filename="sync-backup-user-a-\d{8}-\d{6}\.mana"$/,
    );

    const entries = await readZip(exported.body);
    expect(entries.map((e) => e.name)).toEqual(['events.jsonl', 'manifest.json']);
    const [eventsEntry, manifestEntry] = entries;
    const events = eventsEntry.data
      .toString('utf8')
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l));
    const manifest = JSON.parse(manifestEntry.data.toString('utf8'));
    expect(manifest).toEqual({
      formatVersion: 1,
      schemaVersion: t.service.config.sync.maxSchemaVersion,
      userId: 'user-a',
      createdAt: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/),
      eventCount: rowsBefore.length,
      eventsSha256: createHash('sha256').update(eventsEntry.data).digest('hex'),
      apps: ['notes', 'todo'],
      producedBy: expect.stringMatching(/^sync-server\/\d+\.\d+\.\d+/),
      schemaVersionMin: 1,
      schemaVersionMax: 1,
    });
    expect(events.map((e) => Object.keys(e))).toEqual(events.map(() => EVENT_KEYS));
    expect(events).toEqual(
      rowsBefore.map((r) => ({
        eventId: r.id,
        schemaVersion: r.schema_version,
        appId: r.app_id,
        table: r.table_name,
        id: r.record_id,
        op: r.op,
        data: r.data,
        fieldMeta: r.field_meta,
        spaceId: r.space_id,
        actor: r.actor,
        origin: r.origin,
        clientId: r.client_id,
        createdAt: r.created_at,
      })),
    );

    await t.db.pool.query('DELETE FROM sync_changes');
    const first = await importBackup(t.service.url, tokenA, exported.body);
    expect(first).toEqual({
      status: 200,
      body: { read: rowsBefore.length, inserted: rowsBefore.length, skipped: 0, complete: true },
    });
    expect(await rowsOf('user-a')).toEqual(rowsBefore);
    expect(await pullsOfA()).toEqual(pullsBefore);

    const second = await importBackup(t.service.url, tokenA, exported.body);
    expect(second).toEqual({
      status: 200,
      body: { read: rowsBefore.length, inserted: 0, skipped: rowsBefore.length, complete: true },
    });
    expect(await rowsOf('user-a')).toEqual(rowsBefore);
  });

  describe('a damaged archive is refused with 400 and nothing is written', () => {
    let events: Buffer;
    let manifest: Record<string, unknown>;

    beforeAll(async () => {
      const entries = await readZip(archiveA);
      events = entries.find((e) => e.name === 'events.jsonl')!.data;
      manifest = JSON.parse(entries.find((e) => e.name === 'manifest.json')!.data.toString());
    });

    beforeEach(async () => {
      await t.db.pool.query('DELETE FROM sync_changes');
    });

    async function expectRefused(archive: Buffer, message: RegExp, status = 400): Promise<void> {
      const response = await importBackup(t.service.url, tokenA, archive);
      expect(response.status).toBe(status);
      expect(response.body.message).toMatch(message);
      expect(await countAll()).toBe(0);
    }

    const manifestOf = (changes: Record<string, unknown>) =>
      Buffer.from(JSON.stringify({ ...manifest, ...changes }));

    it('a changed byte in events.jsonl', async () => {
      const tampered = Buffer.from(events);
      const at = tampered.indexOf('Buy milk');
      expect(at).toBeGreaterThan(0);
      tampered[at] = 'b'.charCodeAt(0); // still valid JSON: only the sha256 can tell
      const archive = await writeZip([
        { name: 'events.jsonl', data: tampered },
        { name: 'manifest.json', data: manifestOf({}) },
      ]);
      await expectRefused(
        archive,
        /does not match the sha256 in manifest\.json: the archive is corrupted/,
      );
    });

    it('a missing manifest (an export that failed midway)', async () => {
      const archive = await writeZip([{ name: 'events.jsonl', data: events }]);
      await expectRefused(archive, /no manifest\.json: it is incomplete/);
    });

    it('a truncated zip', async () => {
      for (const length of [archiveA.length - 10, Math.floor(archiveA.length / 2), 100, 0]) {
        await expectRefused(
          archiveA.subarray(0, length),
          /not a readable zip \(truncated or corrupted\)/,
        );
      }
    });

    it('an unknown formatVersion, a wrong count, a bad event', async () => {
      const zip = (manifestChanges: Record<string, unknown>, data = events) =>
        writeZip([
          { name: 'events.jsonl', data },
          { name: 'manifest.json', data: manifestOf(manifestChanges) },
        ]);
      await expectRefused(await zip({ formatVersion: 2 }), /formatVersion 2 is not supported/);
      await expectRefused(
        await zip({ eventCount: (manifest.eventCount as number) + 1 }),
        /events\.jsonl holds \d+ events, manifest\.json says \d+/,
      );
      const badEvents = Buffer.concat([events, Buffer.from('{"eventId":"not-a-uuid"}\n')]);
      await expectRefused(
        await zip(
          { eventsSha256: createHash('sha256').update(badEvents).digest('hex') },
          badEvents,
        ),
        /events\.jsonl line \d+: eventId must be a UUID/,
      );
      await expectRefused(await zip({ schemaVersionMax: 99 }), /schema version 99/);
    });

    it('a line nested 2,400 levels deep, or with 1e400: 400 naming the line', async () => {
      const first = JSON.parse(events.toString().split('\n')[0]);
      for (const [data, message] of [
        [
          `{"a":${'['.repeat(2400)}${']'.repeat(2400)}}`,
          /line 2: data\.a(\[0\])+ is nested deeper than 64 levels/,
        ],
        ['{"n":1e400}', /line 2: data\.n is a number JSON cannot carry exactly/],
      ] as const) {
        const line = JSON.stringify({
          ...first,
          eventId: '5b4a3c2d-1e0f-4a9b-8c7d-6e5f4a3b2c1d',
          data: 'X',
        }).replace('"X"', data);
        const bad = Buffer.concat([
          events.subarray(0, events.indexOf('\n') + 1),
          Buffer.from(`${line}\n`),
        ]);
        const archive = await writeZip([
          { name: 'events.jsonl', data: bad },
          {
            name: 'manifest.json',
            data: manifestOf({
              eventCount: 2,
              eventsSha256: createHash('sha256').update(bad).digest('hex'),
            }),
          },
        ]);
        await expectRefused(archive, message);
      }
    });

    it('a zip bomb: 413 from its declared size, 400 when the header understates it', async () => {
      // 16 MB of one repeated valid line compress to a few kilobytes.
      const line = `${events.toString().split('\n')[0]}\n`;
      const copies = Math.ceil((16 * 1024 * 1024) / Buffer.byteLength(line));
      const bomb = Buffer.from(line.repeat(copies));
      const manifestEntry = {
        name: 'manifest.json',
        data: manifestOf({
          eventCount: copies,
          eventsSha256: createHash('sha256').update(bomb).digest('hex'),
        }),
      };
      const archive = await writeZip([{ name: 'events.jsonl', data: bomb }, manifestEntry]);
      expect(archive.length).toBeLessThan(bomb.length / 200);
      await expectRefused(archive, /events\.jsonl inflates to more than \d+ bytes/, 413);

      // The same, its central directory claiming 1,000 bytes: cut off as soon as it inflates more.
      const lying = Buffer.from(archive);
      const CENTRAL_HEADER = 0x02014b50;
      let central = -1;
      for (let at = 0; at + 58 <= lying.length; at++) {
        if (
          lying.readUInt32LE(at) === CENTRAL_HEADER &&
          lying.toString('latin1', at + 46, at + 58) === 'events.jsonl'
        ) {
          central = at;
        }
      }
      expect(lying.readUInt32LE(central + 24)).toBe(bomb.length);
      lying.writeUInt32LE(1000, central + 24);
      await expectRefused(lying, /not a readable zip/);
    });

    it('a foreign space in an event (403)', async () => {
      const foreign = Buffer.from(events.toString().replace(/"space-s"/g, '"space-other"'));
      const archive = await writeZip([
        { name: 'events.jsonl', data: foreign },
        {
          name: 'manifest.json',
          data: manifestOf({ eventsSha256: createHash('sha256').update(foreign).digest('hex') }),
        },
      ]);
      await expectRefused(archive, /line \d+: not a member of space "space-other"/, 403);
    });
  });

  it('an import the database breaks off midway answers 503 with its progress; importing again completes it', async () => {
    const user = 'user-big';
    const token = await t.auth.token(user);
    await t.db.pool.query(
      `INSERT INTO sync_changes (app_id, table_name, record_id, user_id, op, data, client_id)
       SELECT 'todo', 'tasks', 'big-' || g, $1, 'insert', jsonb_build_object('g', g), 'c'
         FROM generate_series(1, 1500) g`,
      [user],
    );
    const exported = await exportBackup(t.service.url, token);
    expect(exported.status).toBe(200);
    const rowsBefore = await rowsOf(user);
    await t.db.pool.query('DELETE FROM sync_changes WHERE user_id = $1', [user]);
    await t.db.pool.query(`
      CREATE FUNCTION refuse_big_1200() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF NEW.record_id = 'big-1200' THEN RAISE EXCEPTION 'out of disk (test)'; END IF;
        RETURN NEW;
      END $$;
      CREATE TRIGGER refuse_big_1200 BEFORE INSERT ON sync_changes
        FOR EACH ROW EXECUTE FUNCTION refuse_big_1200()`);
    let broken: Awaited<ReturnType<typeof fetch>>;
    try {
      broken = await fetch(`${t.service.url}/backup/import`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/zip' },
        body: exported.body,
      });
    } finally {
      await t.db.pool.query('DROP TRIGGER refuse_big_1200 ON sync_changes');
    }
    expect(broken.status).toBe(503);
    expect(broken.headers.get('retry-after')).toBe('5');
    expect(await broken.json()).toEqual({
      statusCode: 503,
      error: 'Service Unavailable',
      message:
        'The import stopped after storing 1000 of 1500 events (the database failed while writing). Import the same archive again: stored events are skipped, so it completes',
      complete: false,
      read: 1500,
      inserted: 1000,
    });
    const again = await importBackup(t.service.url, token, exported.body);
    expect(again).toEqual({
      status: 200,
      body: { read: 1500, inserted: 500, skipped: 1000, complete: true },
    });
    expect(await rowsOf(user)).toEqual(rowsBefore);
    await t.db.pool.query('DELETE FROM sync_changes WHERE user_id = $1', [user]);
  });

  describe('limits and access', () => {
    let small: TestApp;

    beforeAll(async () => {
      small = await startTestApp({
        ...t.env,
        BACKUP_IMPORT_MAX_BYTES: String(archiveA.length - 1),
      });
      await t.db.pool.query('DELETE FROM sync_changes');
    });

    afterAll(async () => {
      await small?.close();
    });

    it('answers 413 beyond BACKUP_IMPORT_MAX_BYTES, declared or streamed, and writes nothing', async () => {
      const declared = await importBackup(small.url, tokenA, archiveA);
      expect(declared.status).toBe(413);
      expect(declared.body.message).toMatch(/BACKUP_IMPORT_MAX_BYTES/);
      const chunks = [archiveA.subarray(0, 100), archiveA.subarray(100)];
      const streamed = await importBackup(
        small.url,
        tokenA,
        Readable.from(chunks),
        'application/octet-stream',
      );
      expect(streamed.status).toBe(413);
      expect(await countAll()).toBe(0);
      // At the limit the upload is read (and found truncated): the bound is not off by one.
      const fits = await importBackup(small.url, tokenA, archiveA.subarray(0, archiveA.length - 1));
      expect(fits.status).toBe(400);
    });

    it('requires a token for both routes', async () => {
      expect((await fetch(`${t.service.url}/backup/export`)).status).toBe(401);
      const response = await fetch(`${t.service.url}/backup/import`, {
        method: 'POST',
        body: archiveA,
      });
      expect(response.status).toBe(401);
    });

    it('refuses a JSON body', async () => {
      const response = await importBackup(
        t.service.url,
        tokenA,
        Buffer.from('{"a":1}'),
        'application/json',
      );
      expect(response.status).toBe(415);
      expect(await countAll()).toBe(0);
    });
  });
});
