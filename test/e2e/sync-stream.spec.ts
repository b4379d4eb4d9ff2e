import type { IncomingMessage, Server, ServerResponse } from 'http';
import { DataSource } from 'typeorm';
import { VisibilityGate } from '../../src/realtime/visibility-gate';
import { useService } from '../support/service-fixture';
import { SyncClient } from '../support/sync-client';

describe('SSE stream', () => {
  const t = useService(
    { SSE_HEARTBEAT_MS: '200', SYNC_PAGE_SIZE: '100' },
    { membershipApi: false },
  );
  let a: SyncClient;
  let b: SyncClient;

  beforeAll(async () => {
    const token = await t.auth.token('user-1');
    a = new SyncClient(t.service.url, token, 'client-a');
    b = new SyncClient(t.service.url, token, 'client-b');
  });

  function listenerCount(): number {
    return t.service.app.get(VisibilityGate).listenerCount;
  }

  async function until(condition: () => boolean, timeoutMs = 3000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!condition() && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  it('sends the catch-up of each collection in pages, then live changes of other clients', async () => {
    await a.push(
      Array.from({ length: 250 }, (_, i) => ({
        table: 'tasks',
        id: `t${i}`,
        op: 'insert',
        data: { i },
      })),
    );
    const stream = await b.stream(['tasks', 'notes']);
    expect(stream.response.statusCode).toBe(200);
    expect(stream.response.headers['content-type']).toMatch(/text\/event-stream/);

    const initial = await stream.waitFor(
      (events) =>
        events.filter((e) => e.event === 'changes' && e.data.table === 'notes').length === 1,
    );
    const taskPages = initial.filter((e) => e.event === 'changes' && e.data.table === 'tasks');
    expect(taskPages.map((e) => e.data.changes.length)).toEqual([100, 100, 50]);
    expect(taskPages.map((e) => e.data.hasMore)).toEqual([true, true, false]);
    expect(taskPages.flatMap((e) => e.data.changes.map((c: any) => c.id))).toHaveLength(250);

    const pushedAt = Date.now();
    await a.push([{ table: 'notes', id: 'live-1', op: 'insert', data: { text: 'hi' } }]);
    const live = await stream.waitFor((events) =>
      events.some(
        (e) => e.event === 'changes' && e.data.changes.some((c: any) => c.id === 'live-1'),
      ),
    );
    const event = live.find(
      (e) => e.event === 'changes' && e.data.changes.some((c: any) => c.id === 'live-1'),
    )!;
    expect(event.at).toBeGreaterThanOrEqual(pushedAt);
    expect(event.data).toEqual({
      table: 'notes',
      changes: [expect.objectContaining({ id: 'live-1', op: 'insert', data: { text: 'hi' } })],
      syncedUntil: expect.any(String),
      hasMore: false,
    });

    // Its own pushes and other collections do not wake it.
    const before = stream.events.filter((e) => e.event === 'changes').length;
    await b.push([{ table: 'notes', id: 'own', op: 'insert', data: {} }]);
    await a.push([{ table: 'other', id: 'elsewhere', op: 'insert', data: {} }]);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(stream.events.filter((e) => e.event === 'changes').length).toBe(before);
    stream.close();
  });

  it('waits for a slow reader without piling up listeners on the response', async () => {
    const responses: ServerResponse[] = [];
    const server = t.service.app.getHttpServer() as Server;
    const capture = (_req: IncomingMessage, res: ServerResponse): void => void responses.push(res);
    server.prependListener('request', capture);
    // Pages of 100 rows of ~300 bytes: every page is over the response's buffer limit.
    const big = 'x'.repeat(300);
    await a.push(
      Array.from({ length: 1500 }, (_, i) => ({
        table: 'big',
        id: `big-${i}`,
        op: 'insert',
        data: { big },
      })),
    );
    const stream = await b.stream(['big']);
    server.off('request', capture);
    try {
      const events = await stream.waitFor(
        (all) => all.some((e) => e.event === 'changes' && !e.data.hasMore),
        10_000,
      );
      expect(events.flatMap((e) => (e.event === 'changes' ? e.data.changes : []))).toHaveLength(
        1500,
      );
      const res = responses.find((r) => r.req.url?.includes('/stream'))!;
      // The stream's own close handler and the server's; not one per page that had to wait.
      expect(res.listenerCount('close')).toBeLessThan(5);
      expect(res.listenerCount('drain')).toBe(0);
    } finally {
      stream.close();
    }
  });

  it('sends heartbeats', async () => {
    const stream = await b.stream(['tasks'], new Date().toISOString());
    const events = await stream.waitFor(
      (all) => all.filter((e) => e.event === 'heartbeat').length >= 2,
      3000,
    );
    expect(events.filter((e) => e.event === 'heartbeat').length).toBeGreaterThanOrEqual(2);
    stream.close();
  });

  it('ends cleanly when the client goes away: no subscription, no connection held', async () => {
    await until(() => listenerCount() === 0);
    expect(listenerCount()).toBe(0);
    const streams = await Promise.all(Array.from({ length: 5 }, () => b.stream(['tasks'])));
    try {
      await Promise.all(streams.map((s) => s.waitFor((e) => e.some((x) => x.event === 'changes'))));
      expect(listenerCount()).toBe(5);
    } finally {
      for (const stream of streams) stream.close();
    }
    await until(() => listenerCount() === 0);
    expect(listenerCount()).toBe(0);
    // A read that was under way when the client left finishes and gives its connection back.
    await until(() => checkedOut() === 0);
    expect(checkedOut()).toBe(0);
  });

  function checkedOut(): number {
    const pool = (
      t.service.app.get(DataSource).driver as unknown as {
        master: { totalCount: number; idleCount: number };
      }
    ).master;
    return pool.totalCount - pool.idleCount;
  }

  it('rejects a stream without auth or without collections', async () => {
    const anonymous = new SyncClient(t.service.url, undefined, 'x');
    expect((await anonymous.request('GET', '/sync/todo/stream?collections=tasks')).status).toBe(
      401,
    );
    expect((await b.request('GET', '/sync/todo/stream')).status).toBe(400);
    expect((await b.request('GET', '/sync/todo/stream?collections=tasks&since=nope')).status).toBe(
      400,
    );
  });
});
