import type { PoolClient } from 'pg';
import { exportBackup, importBackup } from '../support/backup-archive';
import { useService } from '../support/service-fixture';
import type { SyncClient } from '../support/sync-client';
import { until, WsTestClient } from '../support/ws-client';

const EPOCH = '1970-01-01T00:00:00.000Z';

/** An open transaction of someone else, ended by `end`. */
interface Stranger {
  end(): Promise<void>;
}

/**
 * Issue 21, points 1 and 2: a transaction that never writes the change log, and a writer of
 * another user or space, delay nobody's delivery. While each stranger is open, B's push
 * reaches B's other devices over SSE, over a WebSocket hint and the pull it prompts, and
 * over a plain pull; only then is the stranger ended. An unclaimed writer holds everyone
 * (the conservative case of docs/cursor.md), and A's own readers still get A's rows once.
 */
describe('per-scope horizon: strangers delay nobody else', () => {
  const t = useService(
    {},
    {
      beforeStart: async ({ db, auth }) => {
        auth.memberships.set('user-c', ['space-c']);
        await db.pool.query('CREATE TABLE unrelated (x int)');
      },
    },
  );

  let n = 0;

  async function open(applicationName: string): Promise<PoolClient> {
    const client = await t.db.pool.connect();
    await client.query(`SET application_name = '${applicationName}'`);
    await client.query('BEGIN');
    return client;
  }

  function ender(client: PoolClient, how = 'COMMIT'): Stranger {
    return {
      end: async () => {
        await client.query(how);
        client.release();
      },
    };
  }

  /** Until a session waits on a lock while it has a transaction id and holds a scope claim. */
  async function waitForBlockedClaimHolder(): Promise<void> {
    const holding = await until(async () => {
      const { rows } = await t.db.pool.query(
        `SELECT 1 FROM pg_stat_activity a JOIN pg_locks l ON l.pid = a.pid
          WHERE a.wait_event_type = 'Lock' AND a.backend_xid IS NOT NULL
            AND l.locktype = 'advisory' AND l.classid = 1398361667 AND l.granted`,
      );
      return rows.length > 0;
    }, 5_000);
    expect(holding).toBe(true);
  }

  /** B's three other devices, each following its cursor on its own channel. */
  async function devicesOfB(): Promise<{
    phone: SyncClient;
    delivered(id: string): Promise<void>;
    close(): void;
  }> {
    const phone = await t.client('user-b', 'b-phone');
    const laptop = await t.client('user-b', 'b-laptop');
    const tablet = await t.client('user-b', 'b-tablet');
    const watch = await t.client('user-b', 'b-watch');
    const stream = await laptop.stream(['tasks']);
    await stream.waitFor((events) => events.some((e) => e.event === 'changes'));
    const socket = await WsTestClient.authenticated(t.service.url, tablet.token!, '/ws/todo', {
      clientId: 'b-tablet',
    });
    let tabletCursor = (await tablet.pullAll('tasks')).cursor;
    let watchCursor = (await watch.pullAll('tasks')).cursor;
    const streamed = (): string[] =>
      stream.events.flatMap((e) =>
        e.event === 'changes' ? e.data.changes.map((c: { id: string }) => c.id) : [],
      );
    return {
      phone,
      async delivered(id) {
        const hints = socket.of('sync-available').length;
        await stream.waitFor(() => streamed().includes(id), 5_000);
        await socket.waitFor(() => socket.of('sync-available').length > hints, 5_000);
        const hinted = await tablet.pullAll('tasks', tabletCursor);
        tabletCursor = hinted.cursor;
        expect(hinted.changes.map((c) => c.id)).toEqual([id]);
        const pulled = await watch.pullAll('tasks', watchCursor);
        watchCursor = pulled.cursor;
        expect(pulled.changes.map((c) => c.id)).toEqual([id]);
        expect(streamed().filter((s) => s === id)).toEqual([id]);
      },
      close() {
        stream.close();
        socket.close();
      },
    };
  }

  const strangers: [string, () => Promise<Stranger>][] = [
    [
      'a transaction on a table sync-server does not know',
      async () => {
        const client = await open('unrelated-writer');
        await client.query('INSERT INTO unrelated VALUES (1)');
        return ender(client);
      },
    ],
    [
      'a transaction with an id that only reads the change log',
      async () => {
        const client = await open('long-reader');
        await client.query('SELECT pg_current_xact_id(), count(*) FROM sync_changes');
        return ender(client, 'ROLLBACK');
      },
    ],
    [
      "a direct SQL writer of user A's scope (sync_claim_scopes)",
      async () => {
        const client = await open('direct-writer-a');
        await client.query(`SELECT sync_claim_scopes('user-a')`);
        await client.query(
          `INSERT INTO sync_changes (app_id, table_name, record_id, user_id, op, data, client_id)
           VALUES ('todo', 'tasks', $1, 'user-a', 'insert', '{}', 'direct')`,
          [`a-direct-${n}`],
        );
        return ender(client);
      },
    ],
    [
      'a writer of a space B is not a member of',
      async () => {
        const client = await open('direct-writer-space');
        await client.query(`SELECT sync_claim_scopes('user-c', '{space-c}')`);
        await client.query(
          `INSERT INTO sync_changes (app_id, table_name, record_id, user_id, space_id, op, data, client_id)
           VALUES ('todo', 'tasks', $1, 'user-c', 'space-c', 'insert', '{}', 'direct')`,
          [`c-direct-${n}`],
        );
        return ender(client);
      },
    ],
    [
      'a push of user A that the service holds open (it waits for a row lock, with an id)',
      async () => {
        // A blocker of A's scope holds the row id A's push inserts; the push claims with BEGIN,
        // gets its id from the Idempotency-Key insert, then waits on the change log's key.
        const blocker = await open('blocker-a');
        await blocker.query(`SELECT sync_claim_scopes('user-a')`);
        const id = `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;
        await blocker.query(
          `INSERT INTO sync_changes (id, app_id, table_name, record_id, user_id, op, data, client_id)
           VALUES ($1, 'todo', 'tasks', $2, 'user-a', 'insert', '{}', 'blocker')`,
          [id, `a-blocked-${n}`],
        );
        const a = await t.client('user-a', 'a-phone');
        const push = a.request(
          'POST',
          '/sync/todo',
          {
            clientId: 'a-phone',
            since: EPOCH,
            changes: [{ table: 'tasks', id: `a-pushed-${n}`, op: 'insert', data: {}, eventId: id }],
          },
          { 'idempotency-key': `held-${n}` },
        );
        // The push is open, has a transaction id and holds its claim of A's scope.
        await waitForBlockedClaimHolder();
        return {
          end: async () => {
            await blocker.query('ROLLBACK');
            blocker.release();
            expect((await push).status).toBe(200);
          },
        };
      },
    ],
    [
      'an import of user A that the service holds open (its last event waits for a row lock)',
      async () => {
        // A's archive of three events, then A's rows wiped, so that the import stores them anew.
        const a = await t.client('user-a', 'a-importer');
        const ids = [0, 1, 2].map((i) => `a-imported-${n}-${i}`);
        expect(
          (await a.push(ids.map((id) => ({ table: 'tasks', id, op: 'insert', data: {} })))).status,
        ).toBe(200);
        const { rows } = await t.db.pool.query<{ id: string }>(
          `SELECT id FROM sync_changes WHERE record_id = ANY($1) ORDER BY seq`,
          [ids],
        );
        const archive = await exportBackup(t.service.url, a.token!);
        expect(archive.status).toBe(200);
        const recordsOfA = async (): Promise<string[]> =>
          (
            await t.db.pool.query<{ record_id: string }>(
              `SELECT record_id FROM sync_changes WHERE user_id = 'user-a' ORDER BY tx_id, seq`,
            )
          ).rows.map((r) => r.record_id);
        const exported = await recordsOfA();
        expect(exported.slice(-3)).toEqual(ids);
        await t.db.pool.query(`DELETE FROM sync_changes WHERE user_id = 'user-a'`);
        // A blocker of A's scope holds the last event's id: the import's batch stores the
        // events before it (so it has an id), then waits on the key, holding its claim of A.
        const blocker = await open('blocker-a');
        await blocker.query(`SELECT sync_claim_scopes('user-a')`);
        await blocker.query(
          `INSERT INTO sync_changes (id, app_id, table_name, record_id, user_id, op, data, client_id)
           VALUES ($1, 'todo', 'tasks', 'a-blocker', 'user-a', 'insert', '{}', 'blocker')`,
          [rows[2].id],
        );
        const imported = importBackup(t.service.url, a.token!, archive.body);
        await waitForBlockedClaimHolder();
        return {
          end: async () => {
            await blocker.query('ROLLBACK');
            blocker.release();
            expect((await imported).status).toBe(200);
            expect(await recordsOfA()).toEqual(exported);
          },
        };
      },
    ],
    [
      "compaction's transaction deleting a row of user A",
      async () => {
        await t.db.pool.query(
          `SELECT sync_claim_scopes('user-a');
           INSERT INTO sync_changes (app_id, table_name, record_id, user_id, op, data, client_id)
           VALUES ('todo', 'tasks', 'a-doomed', 'user-a', 'insert', '{}', 'direct')
           ON CONFLICT DO NOTHING`,
        );
        const client = await open('compaction');
        await client.query('SET LOCAL ROLE sync_compactor');
        await client.query(`DELETE FROM sync_changes WHERE record_id = 'a-doomed'`);
        return ender(client, 'ROLLBACK');
      },
    ],
  ];

  it.each(strangers)('%s', async (_name, makeStranger) => {
    n++;
    const b = await devicesOfB();
    const stranger = await makeStranger();
    try {
      const id = `b-${n}`;
      expect((await b.phone.push([{ table: 'tasks', id, op: 'insert', data: {} }])).status).toBe(
        200,
      );
      // Delivered on every channel while the stranger is still open.
      await b.delivered(id);
    } finally {
      await stranger.end();
      b.close();
    }
  });

  it("A's own readers wait for A's open writer, then get everything of A exactly once", async () => {
    const aPhone = await t.client('user-a', 'a-phone');
    const aLaptop = await t.client('user-a', 'a-laptop');
    const start = (await aLaptop.pullAll('tasks')).cursor;
    const writer = await open('direct-writer-a');
    await writer.query(`SELECT sync_claim_scopes('user-a')`);
    await writer.query(
      `INSERT INTO sync_changes (app_id, table_name, record_id, user_id, op, data, client_id)
       VALUES ('todo', 'tasks', 'a-slow', 'user-a', 'insert', '{}', 'direct')`,
    );
    expect(
      (await aPhone.push([{ table: 'tasks', id: 'a-fast', op: 'insert', data: {} }])).status,
    ).toBe(200);
    // a-fast started after the open writer: A's cursor must not pass the writer.
    const early = await aLaptop.pullAll('tasks', start);
    expect(early.changes.map((c) => c.id)).toEqual([]);
    await writer.query('COMMIT');
    writer.release();
    const late = await aLaptop.pullAll('tasks', early.cursor);
    expect(late.changes.map((c) => c.id)).toEqual(['a-slow', 'a-fast']);
    expect((await aLaptop.pullAll('tasks', late.cursor)).changes).toEqual([]);
  });

  it('a writer that claims nothing holds everyone until it ends (conservative), and is never skipped', async () => {
    const bLaptop = await t.client('user-b', 'b-laptop');
    const bPhone = await t.client('user-b', 'b-phone');
    const start = (await bLaptop.pullAll('tasks')).cursor;
    const writer = await open('unclaimed-writer');
    await writer.query(
      `INSERT INTO sync_changes (app_id, table_name, record_id, user_id, op, data, client_id)
       VALUES ('todo', 'tasks', 'b-unclaimed', 'user-b', 'insert', '{}', 'direct')`,
    );
    expect(
      (await bPhone.push([{ table: 'tasks', id: 'b-after', op: 'insert', data: {} }])).status,
    ).toBe(200);
    const early = await bLaptop.pullAll('tasks', start);
    expect(early.changes.map((c) => c.id)).toEqual([]);
    await writer.query('COMMIT');
    writer.release();
    const late = await bLaptop.pullAll('tasks', early.cursor);
    expect(late.changes.map((c) => c.id)).toEqual(['b-unclaimed', 'b-after']);
  });
});
