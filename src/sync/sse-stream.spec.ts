import { Logger } from '@nestjs/common';
import { EventEmitter } from 'events';
import type { Response } from 'express';
import { MetricsService } from '../metrics/metrics.service';
import { ChangeEvent } from '../realtime/change-feed';
import { RealtimeMetrics } from '../realtime/realtime.metrics';
import { GateListener, ReaderFilter, VisibilityGate } from '../realtime/visibility-gate';
import { MembershipProvider } from '../spaces/membership-provider';
import { RlsTransactionRunner } from '../store/rls-transaction.runner';
import { SseStream, SseStreamDeps, StreamRequest } from './sse-stream';
import { formatCursor, parseSince } from './sync-cursor';
import { ReadRequest, ReadResult, SyncService } from './sync.service';

/** An express response as far as a stream uses it: what was written, and backpressure on demand. */
class FakeResponse extends EventEmitter {
  readonly written: string[] = [];
  ended = false;
  /** While set, write answers false (the socket's buffer is full) until drain is emitted. */
  full = false;

  write(chunk: string | Buffer): boolean {
    this.written.push(chunk.toString());
    return !this.full;
  }

  end(): void {
    this.ended = true;
  }

  /** The events written so far, as [event, data]. */
  events(): [string, unknown][] {
    return this.written
      .join('')
      .split('\n\n')
      .filter(Boolean)
      .map((block) => {
        const [event, data] = block.split('\n');
        return [event!.slice('event: '.length), JSON.parse(data!.slice('data: '.length))];
      });
  }
}

/** The gate's two subscriptions, driven by the test. */
class FakeGate {
  listeners = new Set<GateListener>();
  resync = new Set<() => void>();

  subscribe(listener: GateListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  onResync(listener: () => void): () => void {
    this.resync.add(listener);
    return () => this.resync.delete(listener);
  }

  /** `tell`: which readers the gate lets see it (everyone unless a test says otherwise). */
  emit(event: Partial<ChangeEvent>, tell: ReaderFilter = () => true): void {
    const full: ChangeEvent = {
      appId: 'todo',
      userId: 'u1',
      clientId: 'other',
      tables: [],
      spaceIds: [],
      txId: '1',
      source: 'local',
      ...event,
    } as ChangeEvent;
    for (const listener of [...this.listeners]) listener(full, tell);
  }
}

/** A log of rows per table; each read returns the rows after the cursor, `pageSize` at a time. */
class FakeSync {
  readonly rows = new Map<string, number>();
  readonly reads: string[] = [];
  fail?: Error;
  pageSize = 100;

  read(request: ReadRequest): Promise<ReadResult> {
    this.reads.push(request.table!);
    if (this.fail) return Promise.reject(this.fail);
    const total = this.rows.get(request.table!) ?? 0;
    const from = Number(request.since.position.seq);
    const to = Math.min(total, from + this.pageSize);
    const changes = Array.from({ length: to - from }, (_, i) =>
      JSON.stringify({ id: `${request.table}-${from + i + 1}` }),
    );
    return Promise.resolve({
      page: {
        changes,
        count: changes.length,
        syncedUntil: formatCursor({ txId: 1n, seq: BigInt(to) }, 0),
        hasMore: to < total,
      },
      horizon: 1n,
    });
  }
}

/** Lets queued reads and writes run. */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('SseStream', () => {
  let res: FakeResponse;
  let gate: FakeGate;
  let sync: FakeSync;
  let metrics: MetricsService;
  let closed: number;
  let stream: SseStream;

  function open(request: Partial<StreamRequest> = {}): SseStream {
    const deps: SseStreamDeps = {
      sync: sync as unknown as SyncService,
      runner: { runAsUser: (_user: unknown, fn: () => unknown) => fn() } as RlsTransactionRunner,
      gate: gate as unknown as VisibilityGate,
      memberships: {
        membershipsOf: async () => ({ available: true, spaceIds: [] }),
      } as unknown as MembershipProvider,
      metrics: new RealtimeMetrics(metrics),
      logger: new Logger('SseStreamSpec'),
      heartbeatMs: 3_600_000,
      membershipRefreshMs: 3_600_000,
    };
    stream = new SseStream(
      {
        user: { userId: 'u1', spaceIds: ['team'] },
        appId: 'todo',
        collections: ['tasks', 'notes'],
        since: parseSince(undefined),
        clientId: 'me',
        ...request,
      },
      res as unknown as Response,
      deps,
      () => closed++,
    );
    stream.start();
    return stream;
  }

  async function sent(): Promise<number> {
    const text = await metrics.render();
    const line = text
      .split('\n')
      .find((l) => l.startsWith('sync_notifications_sent_total{channel="sse"}'));
    return line ? Number(line.split(' ')[1]) : 0;
  }

  beforeEach(() => {
    res = new FakeResponse();
    gate = new FakeGate();
    sync = new FakeSync();
    metrics = new MetricsService();
    closed = 0;
  });

  afterEach(() => stream.close());

  it('catches up every collection in order, an event each even when empty, page by page', async () => {
    sync.rows.set('tasks', 3);
    sync.pageSize = 2;
    open();
    await settle();
    expect(res.events()).toEqual([
      [
        'changes',
        expect.objectContaining({
          table: 'tasks',
          changes: [{ id: 'tasks-1' }, { id: 'tasks-2' }],
          hasMore: true,
        }),
      ],
      [
        'changes',
        expect.objectContaining({ table: 'tasks', changes: [{ id: 'tasks-3' }], hasMore: false }),
      ],
      ['changes', expect.objectContaining({ table: 'notes', changes: [], hasMore: false })],
    ]);
    // The catch-up is not a notification.
    expect(await sent()).toBe(0);
  });

  it('reads a collection a hint names, from its cursor, and counts the event as a notification', async () => {
    sync.rows.set('tasks', 1);
    open();
    await settle();
    sync.rows.set('tasks', 2);
    gate.emit({ tables: ['tasks'] });
    await settle();
    expect(res.events().slice(2)).toEqual([
      ['changes', expect.objectContaining({ table: 'tasks', changes: [{ id: 'tasks-2' }] })],
    ]);
    expect(await sent()).toBe(1);
  });

  it('reads nothing for a hint its reader may not see yet (the horizon of its scopes has not passed it)', async () => {
    sync.rows.set('tasks', 1);
    open();
    await settle();
    const before = sync.reads.length;
    const asked: [string, readonly string[]][] = [];
    gate.emit({ tables: ['tasks'] }, (userId, spaceIds) => {
      asked.push([userId, spaceIds]);
      return false;
    });
    await settle();
    expect(asked).toEqual([['u1', expect.any(Array)]]);
    expect(sync.reads.length).toBe(before);
    gate.emit({ tables: ['tasks'] });
    await settle();
    expect(sync.reads.slice(before)).toEqual(['tasks']);
  });

  it('ignores hints of its own client, another app, and users and spaces it does not follow', async () => {
    open();
    await settle();
    const before = sync.reads.length;
    gate.emit({ tables: ['tasks'], clientId: 'me' });
    gate.emit({ tables: ['tasks'], appId: 'other-app' });
    gate.emit({ tables: ['tasks'], userId: 'u2', spaceIds: ['elsewhere'] });
    gate.emit({ tables: ['unfollowed'] });
    await settle();
    expect(sync.reads.length).toBe(before);
    // Another user's write into a space this user is in does concern it.
    gate.emit({ tables: ['notes'], userId: 'u2', spaceIds: ['team'] });
    await settle();
    expect(sync.reads.slice(before)).toEqual(['notes']);
  });

  it('reads every collection for a hint without tables and on a resync, each once', async () => {
    open();
    await settle();
    const before = sync.reads.length;
    gate.emit({ tables: [] });
    gate.emit({ tables: ['tasks'] });
    await settle();
    expect(sync.reads.slice(before).sort()).toEqual(['notes', 'tasks']);
    for (const listener of gate.resync) listener();
    await settle();
    expect(sync.reads.slice(before + 2).sort()).toEqual(['notes', 'tasks']);
  });

  it('waits for drain when the client reads slowly, and writes in order after it', async () => {
    sync.rows.set('tasks', 1);
    res.full = true;
    open();
    await settle();
    // The first event's first chunk went out; the rest waits for drain.
    const written = res.written.length;
    expect(written).toBeGreaterThan(0);
    expect(sync.reads).toEqual(['tasks']);
    res.full = false;
    res.emit('drain');
    await settle();
    expect(res.written.length).toBeGreaterThan(written);
    expect(res.events().map(([, data]) => (data as { table: string }).table)).toEqual([
      'tasks',
      'notes',
    ]);
  });

  it('ends on a failed read: closed once, unsubscribed, the response ended', async () => {
    sync.fail = new Error('connection lost');
    const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    open();
    await settle();
    expect(warn).toHaveBeenCalledWith('stream read failed: connection lost');
    expect(closed).toBe(1);
    expect(res.ended).toBe(true);
    expect(gate.listeners.size).toBe(0);
    expect(gate.resync.size).toBe(0);
    stream.close();
    expect(closed).toBe(1);
    warn.mockRestore();
  });

  it('ends when the client goes away, and writes nothing after', async () => {
    open();
    await settle();
    const written = res.written.length;
    res.emit('close');
    gate.emit({ tables: ['tasks'] });
    await settle();
    expect(closed).toBe(1);
    expect(res.written.length).toBe(written);
  });

  it('sends a heartbeat every heartbeat interval', async () => {
    jest.useFakeTimers({ doNotFake: ['setImmediate', 'nextTick'] });
    try {
      open();
      await settle();
      jest.advanceTimersByTime(3_600_000);
      await settle();
      expect(res.events().at(-1)).toEqual(['heartbeat', { time: expect.any(String) }]);
    } finally {
      jest.useRealTimers();
    }
  });
});
