import WebSocket from 'ws';
import { RlsTransactionRunner } from '../../src/store/rls-transaction.runner';
import { toChangeset } from '../../src/sync/change-mapper';
import { PushDto } from '../../src/sync/dto/push.dto';
import { SyncService } from '../../src/sync/sync.service';
import { metricSum, parseMetrics, Sample } from '../support/prometheus-text';
import { WsTestClient } from '../support/ws-client';
import { useService } from '../support/service-fixture';

const METRICS_TOKEN = 'scrape-secret';

describe('GET /metrics', () => {
  const t = useService({ METRICS_TOKEN });

  async function scrape(): Promise<Sample[]> {
    const response = await fetch(`${t.service.url}/metrics`, {
      headers: { authorization: `Bearer ${METRICS_TOKEN}` },
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    return parseMetrics(await response.text());
  }

  /** How much `name{labels}` grew while `action` ran. */
  async function growth(
    action: () => Promise<unknown>,
    ...series: [string, Record<string, string>?][]
  ): Promise<number[]> {
    const before = await scrape();
    await action();
    const after = await scrape();
    return series.map(
      ([name, labels]) => metricSum(after, name, labels) - metricSum(before, name, labels),
    );
  }

  it('wants METRICS_TOKEN when it is set: 401 JSON without it or with another token', async () => {
    const attempts: Record<string, string>[] = [
      {},
      { authorization: 'Bearer wrong' },
      { authorization: METRICS_TOKEN },
    ];
    for (const headers of attempts) {
      const response = await fetch(`${t.service.url}/metrics`, { headers });
      expect(response.status).toBe(401);
      expect(await response.json()).toEqual({
        statusCode: 401,
        error: 'Unauthorized',
        message: expect.any(String),
      });
    }
    expect((await scrape()).length).toBeGreaterThan(0);
  });

  it('counts stored changes by app and op once the push has committed, and only once', async () => {
    const alice = await t.client('alice');
    const changes = [
      { table: 'tasks', id: 'm1', op: 'insert', data: { title: 'one' } },
      { table: 'tasks', id: 'm2', op: 'insert', data: { title: 'two' } },
      { table: 'tasks', id: 'm3', op: 'insert', data: { title: 'three' } },
      {
        table: 'tasks',
        id: 'm1',
        op: 'update',
        fields: { title: { value: 'uno', at: '2026-01-01T00:00:00Z' } },
      },
      { table: 'tasks', id: 'm2', op: 'delete', deletedAt: '2026-01-01T00:00:00Z' },
    ];
    const stored = (op: string): [string, Record<string, string>] => [
      'sync_changes_stored_total',
      { app: 'todo', op },
    ];
    const key = { 'idempotency-key': 'metrics-push-1' };
    const push = () =>
      alice.request('POST', '/sync/todo', { since: undefined, changes }, key).then((r) => {
        expect(r.status).toBe(200);
      });
    expect(await growth(push, stored('insert'), stored('update'), stored('delete'))).toEqual([
      3, 1, 1,
    ]);
    // A replayed retry stores nothing, and a refused push neither.
    const refused = () =>
      alice.push([
        { table: 'tasks', id: 'x', op: 'insert', data: {} },
        { table: 'tasks', op: 'bogus' },
      ]);
    expect(await growth(push, stored('insert'), stored('update'))).toEqual([0, 0]);
    expect(await growth(refused, stored('insert'))).toEqual([0]);
    // A retry by eventId adds only the changes that are new.
    const eventId = '7f3c2a10-5b1e-4c8e-9a51-2f1d3e4c5b6a';
    const byEventId = (ids: string[]) => () =>
      alice.push(
        ids.map((id, i) => ({ eventId: id, table: 'tasks', id: `e${i}`, op: 'insert', data: {} })),
      );
    expect(await growth(byEventId([eventId]), stored('insert'))).toEqual([1]);
    expect(
      await growth(byEventId([eventId, '7f3c2a10-5b1e-4c8e-9a51-2f1d3e4c5b6b']), stored('insert')),
    ).toEqual([1]);
    // Another app is another series.
    const notes = await t.client('alice', 'alice-device', 'notes');
    expect(
      await growth(
        () => notes.push([{ table: 'notes', id: 'n1', op: 'insert', data: {} }]),
        ['sync_changes_stored_total', { app: 'notes', op: 'insert' }],
        stored('insert'),
      ),
    ).toEqual([1, 0]);
  });

  it('does not count the changes of a push whose transaction rolls back after the insert', async () => {
    const runner = t.service.app.get(RlsTransactionRunner);
    const sync = t.service.app.get(SyncService);
    const user = { userId: 'rolled-back', spaceIds: [] };
    const body = toChangeset(
      { changes: [{ table: 'tasks', id: 'rb1', op: 'insert', data: {} }] } as unknown as PushDto,
      1,
    );
    const [inserts] = await growth(
      () =>
        runner
          .runAsUser(user, async () => {
            await sync.push('todo', 'rb-client', body, user);
            throw new Error('fails after the insert');
          })
          .catch(() => undefined),
      ['sync_changes_stored_total', { app: 'todo', op: 'insert' }],
    );
    expect(inserts).toBe(0);
    const { rows } = await t.db.pool.query(
      `SELECT count(*)::int AS n FROM sync_changes WHERE user_id = 'rolled-back'`,
    );
    expect(rows[0].n).toBe(0);
  });

  it('counts pulls and the rows they returned', async () => {
    const writer = await t.client('bob', 'bob-writer');
    await writer.push(
      Array.from({ length: 4 }, (_, i) => ({
        table: 'lists',
        id: `l${i}`,
        op: 'insert',
        data: { i },
      })),
    );
    const reader = await t.client('bob', 'bob-reader');
    const pulls = await growth(
      async () => {
        expect((await reader.pull('lists')).body.serverChanges).toHaveLength(4);
        expect((await reader.pull('empty')).body.serverChanges).toHaveLength(0);
      },
      ['sync_pulls_total', { app: 'todo' }],
      ['sync_pulled_rows_total', { app: 'todo' }],
    );
    expect(pulls).toEqual([2, 4]);
  });

  it('counts the change notifications written to WebSockets and SSE streams', async () => {
    const writer = await t.client('erin', 'erin-writer');
    const reader = await t.client('erin', 'erin-reader');
    const socket = await WsTestClient.authenticated(t.service.url, reader.token!);
    const stream = await reader.stream(['notes']);
    try {
      await stream.waitFor((events) => events.some((e) => e.event === 'changes'));
      const sent = await growth(
        async () => {
          await writer.push([{ table: 'notes', id: 'n1', op: 'insert', data: {} }]);
          await socket.waitFor((m) => m.type === 'sync-available');
          await stream.waitFor((events) => events.filter((e) => e.event === 'changes').length >= 2);
        },
        ['sync_notifications_sent_total', { channel: 'websocket' }],
        ['sync_notifications_sent_total', { channel: 'sse' }],
      );
      expect(sent).toEqual([1, 1]);
    } finally {
      stream.close();
      socket.socket.close();
    }
  });

  it('times HTTP requests by route pattern, method and status, never by raw URL', async () => {
    const carol = await t.client('carol');
    const [requests, histogram, unmatched] = await growth(
      async () => {
        await carol.push([]);
        await carol.push([]);
        await fetch(`${t.service.url}/no/such/route-42`);
      },
      ['sync_http_requests_total', { route: '/sync/:appId', method: 'POST', status: '200' }],
      [
        'sync_http_request_duration_seconds_count',
        { route: '/sync/:appId', method: 'POST', status: '200' },
      ],
      ['sync_http_requests_total', { route: 'unmatched', status: '404' }],
    );
    expect([requests, histogram, unmatched]).toEqual([2, 2, 1]);
    const samples = await scrape();
    const buckets = samples.filter(
      (s) =>
        s.name === 'sync_http_request_duration_seconds_bucket' && s.labels.route === '/sync/:appId',
    );
    expect(buckets.length).toBeGreaterThan(5);
    const routes = new Set(samples.map((s) => s.labels.route).filter(Boolean));
    expect([...routes].filter((r) => r.includes('todo') || r.includes('route-42'))).toEqual([]);
    expect(routes).toContain('/sync/:appId/pull');
  });

  it('reports open SSE streams and WebSockets, the pool, cache lookups and Node defaults at scrape time', async () => {
    const dave = await t.client('dave');
    const stream = await dave.stream(['tasks']);
    await stream.waitFor((events) => events.some((e) => e.event === 'changes'));
    let samples = await scrape();
    expect(metricSum(samples, 'sync_sse_streams_open')).toBe(1);
    stream.close();
    for (let i = 0; i < 50 && metricSum(samples, 'sync_sse_streams_open') !== 0; i++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      samples = await scrape();
    }
    expect(metricSum(samples, 'sync_sse_streams_open')).toBe(0);

    const socket = new WebSocket(`${t.service.url.replace('http', 'ws')}/ws`);
    await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
    expect(metricSum(await scrape(), 'sync_websocket_connections_open')).toBe(1);
    socket.close();
    await new Promise((resolve) => socket.once('close', resolve));
    for (let i = 0; i < 50 && metricSum(samples, 'sync_websocket_connections_open') !== 0; i++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      samples = await scrape();
    }
    expect(metricSum(samples, 'sync_websocket_connections_open')).toBe(0);

    expect(metricSum(samples, 'sync_db_pool_connections_idle')).toBeGreaterThanOrEqual(1);
    expect(samples.map((s) => s.name)).toEqual(
      expect.arrayContaining([
        'sync_db_pool_connections_in_use',
        'sync_db_pool_waiting_requests',
        'process_cpu_user_seconds_total',
        'nodejs_heap_size_used_bytes',
        'nodejs_eventloop_lag_seconds',
      ]),
    );

    // dave's memberships were looked up once (stream) and then found in the cache (pull).
    const lookups = (result: string) =>
      metricSum(samples, 'sync_cache_lookups_total', { cache: 'membership', result });
    const missesBefore = lookups('miss');
    const hitsBefore = lookups('hit');
    await dave.pull('tasks');
    samples = await scrape();
    expect(lookups('miss')).toBe(missesBefore);
    expect(lookups('hit')).toBe(hitsBefore + 1);
    expect(missesBefore).toBeGreaterThanOrEqual(1);
    expect(
      samples.some((s) => s.name === 'sync_cache_lookups_total' && s.labels.cache === 'billing'),
    ).toBe(true);
  });
});
