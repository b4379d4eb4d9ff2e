import { encodeHints, HINT_CHANNEL } from '../../src/realtime/change-event-codec';
import { LISTENER_APPLICATION_NAME } from '../../src/realtime/notification-listener';
import { useService } from '../support/service-fixture';
import { SyncClient } from '../support/sync-client';
import { TestApp } from '../support/test-app';
import { sleep, until, WsTestClient } from '../support/ws-client';

/** Two instances of the service on one database: what one hears, the other must hear too. */
describe('realtime fan-out across instances (LISTEN/NOTIFY)', () => {
  const t = useService({}, { instances: 2 });
  let one: TestApp;
  let two: TestApp;
  let token: string;
  let pusher: SyncClient;
  const sockets: WsTestClient[] = [];
  let seq = 0;

  async function socket(app: TestApp, path = '/ws', extra = {}): Promise<WsTestClient> {
    const client = await WsTestClient.authenticated(app.url, token, path, extra);
    sockets.push(client);
    return client;
  }

  function task(table = 'tasks'): Record<string, unknown> {
    seq++;
    return { table, id: `t${seq}`, op: 'insert', data: { title: `task ${seq}` } };
  }

  async function listenerPids(): Promise<number[]> {
    const { rows } = await t.db.pool.query<{ pid: number }>(
      `SELECT pid FROM pg_stat_activity WHERE datname = $1 AND application_name = $2`,
      [t.db.name, LISTENER_APPLICATION_NAME],
    );
    return rows.map((r) => r.pid);
  }

  beforeAll(async () => {
    [one, two] = t.services;
    token = await t.auth.token('user-1');
    pusher = new SyncClient(one.url, token, 'pusher');
  });

  afterEach(() => {
    for (const client of sockets.splice(0)) client.close();
  });

  it('tells a WebSocket and an SSE stream on the other instance about the push', async () => {
    expect(await listenerPids()).toHaveLength(2);
    const ws = await socket(two);
    const wsApp = await socket(two, '/ws/todo');
    const stream = await new SyncClient(two.url, token, 'reader').stream(['tasks']);
    try {
      await stream.waitFor((events) => events.some((e) => e.event === 'changes'));
      const change = task();
      const pushedAt = Date.now();
      const response = await pusher.push([change]);
      expect(response.status).toBe(200);

      const note = await ws.waitFor((m) => m.type === 'sync-available');
      expect(note).toEqual({
        type: 'sync-available',
        appId: 'todo',
        tables: ['tasks'],
        at: expect.any(Number),
      });
      expect(note.at).toBeGreaterThanOrEqual(pushedAt);
      expect((await wsApp.waitFor((m) => m.type === 'sync-available')).tables).toEqual(['tasks']);

      const events = await stream.waitFor((all) =>
        all.some(
          (e) => e.event === 'changes' && e.data.changes.some((c: any) => c.id === change.id),
        ),
      );
      const live = events.find((e) => e.data?.changes?.some((c: any) => c.id === change.id))!;
      expect(live.at).toBeGreaterThanOrEqual(pushedAt);
    } finally {
      stream.close();
    }
  });

  it('tells sockets on the pushing instance too, except the pushing client when it said who it is', async () => {
    const local = await socket(one);
    const remote = await socket(two);
    const ownLocal = await socket(one, '/ws', { clientId: 'pusher' });
    const ownRemote = await socket(two, '/ws/todo', { clientId: 'pusher' });
    expect((await pusher.push([task('notes')])).status).toBe(200);
    await local.waitFor((m) => m.type === 'sync-available' && m.tables[0] === 'notes', 1000);
    await remote.waitFor((m) => m.type === 'sync-available' && m.tables[0] === 'notes', 1000);
    await sleep(300);
    expect(ownLocal.of('sync-available')).toEqual([]);
    expect(ownRemote.of('sync-available')).toEqual([]);
  });

  it('notifies nobody of a push that rolls back', async () => {
    const local = await socket(one);
    const remote = await socket(two);

    // Fails at INSERT (jsonb cannot hold \u0000): the whole push rolls back.
    const invalid = await pusher.push([task(), { ...task(), data: { title: 'nul \u0000' } }]);
    expect(invalid.status).toBeGreaterThanOrEqual(400);

    // Fails at COMMIT, after its insert statement succeeded.
    await t.db.pool.query(`
      CREATE FUNCTION fail_at_commit() RETURNS trigger LANGUAGE plpgsql AS
        $$ BEGIN RAISE EXCEPTION 'refused at commit'; END $$;
      CREATE CONSTRAINT TRIGGER fail_at_commit AFTER INSERT ON sync_changes
        DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
        WHEN (NEW.table_name = 'doomed') EXECUTE FUNCTION fail_at_commit();`);
    try {
      const doomed = await pusher.push([task('doomed')]);
      expect(doomed.status).toBeGreaterThanOrEqual(500);
    } finally {
      await t.db.pool.query(
        `DROP TRIGGER fail_at_commit ON sync_changes; DROP FUNCTION fail_at_commit();`,
      );
    }

    // A notification sent in a transaction that rolls back is never delivered...
    const [payload] = encodeHints('elsewhere', [
      {
        appId: 'todo',
        userId: 'user-1',
        clientId: 'sql',
        tables: ['direct'],
        spaceIds: [],
        txId: '1',
      },
    ]).payloads;
    const client = await t.db.pool.connect();
    try {
      await client.query('BEGIN');
      await client.query('SELECT pg_notify($1, $2)', [HINT_CHANNEL, payload]);
      await client.query('ROLLBACK');
    } finally {
      client.release();
    }
    await sleep(400);
    expect(local.of('sync-available')).toEqual([]);
    expect(remote.of('sync-available')).toEqual([]);

    // ...while the same notification committed is: the silence above is not a deaf socket.
    await t.db.pool.query('SELECT pg_notify($1, $2)', [HINT_CHANNEL, payload]);
    await local.waitFor((m) => m.type === 'sync-available' && m.tables[0] === 'direct', 1000);
    await remote.waitFor((m) => m.type === 'sync-available' && m.tables[0] === 'direct', 1000);
  });

  it('sends tables: [] across instances when a push names too many tables for one NOTIFY', async () => {
    const local = await socket(one);
    const remote = await socket(two);
    const tables = Array.from(
      { length: 300 },
      (_, i) => `collection_with_a_long_name_${String(i).padStart(4, '0')}`,
    );
    expect((await pusher.push(tables.map((table) => task(table)))).status).toBe(200);
    const far = await remote.waitFor((m) => m.type === 'sync-available', 1000);
    expect(far.tables).toEqual([]);
    // The pushing instance is told directly, not through NOTIFY: it keeps the full list.
    const near = await local.waitFor((m) => m.type === 'sync-available', 1000);
    expect(near.tables).toHaveLength(300);
  });

  it('ignores malformed notifications on the channel', async () => {
    const remote = await socket(two);
    await t.db.pool.query('SELECT pg_notify($1, $2)', [HINT_CHANNEL, '{"appId":"todo"}']);
    await t.db.pool.query('SELECT pg_notify($1, $2)', [HINT_CHANNEL, 'not json']);
    expect((await pusher.push([task()])).status).toBe(200);
    await remote.waitFor((m) => m.type === 'sync-available', 1000);
    expect(remote.of('sync-available')).toHaveLength(1);
  });

  it('re-establishes LISTEN after the connection is killed: notifications flow again', async () => {
    const remote = await socket(two);
    const before = await listenerPids();
    expect(before).toHaveLength(2);
    await t.db.pool.query('SELECT pg_terminate_backend(pid) FROM unnest($1::int[]) AS pid', [
      before,
    ]);

    // Push until one gets through; each push is a fresh chance (timing belongs in the bench).
    let delivered = false;
    for (let attempt = 0; !delivered && attempt < 20; attempt++) {
      expect((await pusher.push([task('after-kill')])).status).toBe(200);
      delivered = await until(() => remote.of('sync-available').length > 0, 250);
    }
    expect(delivered).toBe(true);
    const after = await listenerPids();
    expect(after).toHaveLength(2);
    expect(after.filter((pid) => before.includes(pid))).toEqual([]);
    const health = await new SyncClient(two.url, undefined, 'h').request('GET', '/health');
    expect(health.body.changeListener).toBe('listening');
  });
});
