import { LoggerService } from '@nestjs/common';
import type { PoolClient } from 'pg';
import { Writable } from 'stream';
import { NotificationListener } from '../../src/realtime/notification-listener';
import { metricSum, parseMetrics } from '../support/prometheus-text';
import { useService } from '../support/service-fixture';
import { sleep, WsTestClient } from '../support/ws-client';

const EPOCH = '1970-01-01T00:00:00.000Z';
/** Longer than the 10 s after which SSE streams used to stop re-reading for a notified push. */
const HOLD_MS = 11_000;

/** Keeps the warnings, drops the rest. */
class WarningSink implements LoggerService {
  readonly warnings: string[] = [];
  log(): void {}
  error(): void {}
  warn(message: unknown, context?: unknown): void {
    this.warnings.push(`${context}: ${message}`);
  }
}

describe('notifications only after visibility', () => {
  const logs = new WarningSink();
  // Stall warnings after DB_IDLE_IN_TX_TIMEOUT_MS/2 = 1 s.
  const quiet = new Writable({ write: (_chunk, _encoding, done) => done() });
  // The global horizon: every transaction with an id holds everyone (the per-scope horizon is
  // test/e2e/realtime-scope-horizon.spec.ts).
  const t = useService(
    { DB_IDLE_IN_TX_TIMEOUT_MS: '2000', SYNC_HORIZON: 'global' },
    { logger: logs, logDestination: quiet },
  );

  async function begin(applicationName: string): Promise<PoolClient> {
    const client = await t.db.pool.connect();
    await client.query(`SET application_name = '${applicationName}'`);
    await client.query('BEGIN');
    return client;
  }

  it('holds SSE and WebSocket notifications while foreign transactions hold the horizon, then delivers them', async () => {
    await t.db.pool.query('CREATE TABLE unrelated (x int)');
    const phone = await t.client('user-b', 'b-phone');
    const laptop = await t.client('user-b', 'b-laptop');

    const stream = await laptop.stream(['tasks']);
    await stream.waitFor((events) => events.some((e) => e.event === 'changes'));
    const socket = await WsTestClient.authenticated(t.service.url, laptop.token!, '/ws/todo', {
      clientId: 'b-laptop',
    });
    // The socket-driven client: pulls from its cursor on every hint.
    let cursor = (await laptop.pull('tasks', EPOCH)).body.syncedUntil as string;
    const pulled: string[] = [];
    const hintsBeforeVisible: number[] = [];

    // Another user's direct write, and a transaction on a table sync-server does not know.
    const otherUser = await begin('foreign-writer');
    await otherUser.query(
      `INSERT INTO sync_changes (app_id, table_name, record_id, user_id, op, data, client_id)
       VALUES ('todo', 'tasks', 'a-row', 'user-a', 'insert', '{}', 'direct')`,
    );
    const unrelated = await begin('unrelated-writer');
    await unrelated.query('INSERT INTO unrelated VALUES (1)');

    expect(
      (await phone.push([{ table: 'tasks', id: 'b-1', op: 'insert', data: { n: 1 } }])).status,
    ).toBe(200);

    const hinted = (): number => socket.of('sync-available').length;
    await sleep(HOLD_MS / 2);
    // Operators see the stall: lag metric and a warning naming the session.
    const metrics = parseMetrics(await (await fetch(`${t.service.url}/metrics`)).text());
    expect(metricSum(metrics, 'sync_horizon_lag_seconds')).toBeGreaterThan(1);
    const [{ pid }] = (
      await t.db.pool.query<{ pid: number }>(
        `SELECT pid FROM pg_stat_activity
          WHERE application_name = 'foreign-writer' AND datname = current_database()`,
      )
    ).rows;
    const stalls = logs.warnings.filter(
      (w) => w.includes('holds the sync horizon back') && w.includes(`pid ${pid},`),
    );
    expect(stalls[0]).toMatch(/application_name "foreign-writer", open for \d+\.\d s/);
    // Rate-limited: at most one line per stall period (1 s) per transaction, not one per poll.
    expect(stalls.length).toBeLessThanOrEqual(Math.ceil(HOLD_MS / 2 / 1000));

    await sleep(HOLD_MS / 2);
    await otherUser.query('COMMIT');
    otherUser.release();
    await sleep(500);
    // Still held back by the unrelated transaction.
    hintsBeforeVisible.push(hinted());
    const early = stream.events.filter((e) => e.event === 'changes').length;

    await unrelated.query('COMMIT');
    unrelated.release();
    await socket.waitFor((m) => m.type === 'sync-available', 10_000);
    for (let more = true; more;) {
      const { body } = await laptop.pull('tasks', cursor);
      pulled.push(...body.serverChanges.map((c: { id: string }) => c.id));
      cursor = body.syncedUntil;
      more = body.hasMore;
    }
    const live = await stream.waitFor(
      (events) =>
        events.some(
          (e) => e.event === 'changes' && e.data.changes.some((c: any) => c.id === 'b-1'),
        ),
      10_000,
    );

    expect(hintsBeforeVisible).toEqual([0]);
    expect(early).toBe(1);
    expect(socket.of('sync-available')).toEqual([
      expect.objectContaining({ appId: 'todo', tables: ['tasks'] }),
    ]);
    expect(pulled).toEqual(['b-1']);
    const liveChanges = live.filter((e) => e.event === 'changes').slice(1);
    expect(liveChanges.flatMap((e) => e.data.changes.map((c: any) => c.id))).toEqual(['b-1']);
    stream.close();
    socket.close();
  });

  it('reads again when notifications were lost while the LISTEN connection was down', async () => {
    const laptop = await t.client('user-d', 'd-laptop');
    const stream = await laptop.stream(['tasks']);
    await stream.waitFor((events) => events.some((e) => e.event === 'changes'));
    const listener = t.service.app.get(NotificationListener);
    const pid = (listener as unknown as { client: { processID: number } }).client.processID;

    // A write whose notification goes out while this instance does not listen.
    const writer = await begin('notifying-writer');
    await writer.query(
      `INSERT INTO sync_changes (app_id, table_name, record_id, user_id, op, data, client_id)
       VALUES ('todo', 'tasks', 'in-the-gap', 'user-d', 'insert', '{}', 'direct')`,
    );
    await writer.query(
      `SELECT pg_notify('sync_changes', json_build_object('instance', 'direct', 'appId', 'todo',
         'userId', 'user-d', 'clientId', 'direct', 'tables', ARRAY['tasks'], 'spaceIds', ARRAY[]::text[],
         'txId', pg_current_xact_id()::text)::text)`,
    );
    await writer.query('SELECT pg_terminate_backend($1, 5000)', [pid]);
    await writer.query('COMMIT');
    writer.release();

    const events = await stream.waitFor(
      (all) =>
        all.some(
          (e) => e.event === 'changes' && e.data.changes.some((c: any) => c.id === 'in-the-gap'),
        ),
      10_000,
    );
    expect(
      events.flatMap((e) => (e.event === 'changes' ? e.data.changes.map((c: any) => c.id) : [])),
    ).toEqual(['in-the-gap']);
    stream.close();
  });

  it('delivers at once when nothing holds the horizon', async () => {
    const phone = await t.client('user-c', 'c-phone');
    const laptop = await t.client('user-c', 'c-laptop');
    const stream = await laptop.stream(['notes']);
    await stream.waitFor((events) => events.some((e) => e.event === 'changes'));
    for (let i = 0; i < 5; i++) {
      await phone.push([{ table: 'notes', id: `n${i}`, op: 'insert', data: {} }]);
    }
    const events = await stream.waitFor(
      (all) => all.flatMap((e) => (e.event === 'changes' ? e.data.changes : [])).length === 5,
    );
    expect(
      events.flatMap((e) => (e.event === 'changes' ? e.data.changes.map((c: any) => c.id) : [])),
    ).toEqual(['n0', 'n1', 'n2', 'n3', 'n4']);
    stream.close();
  });
});
