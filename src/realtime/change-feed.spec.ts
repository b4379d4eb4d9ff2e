import { Logger } from '@nestjs/common';
import { MetricsService } from '../metrics/metrics.service';
import type { ChangeLog, CommitListener, CommittedChange } from '../store/change-log';
import { ChangeEvent, ChangeFeed } from './change-feed';
import { HintHandler, HintRelay } from './hint-relay';
import type { LogSweep, SweepHandler } from './log-sweep';
import { RealtimeMetrics } from './realtime.metrics';

function change(txId: number, userId = 'u1'): CommittedChange {
  return {
    appId: 'todo',
    userId,
    clientId: 'c',
    tables: ['tasks'],
    spaceIds: [],
    txId: String(txId),
  };
}

class FakeRelay extends HintRelay {
  published: CommittedChange[] = [];
  handler?: HintHandler;
  publish(hints: readonly CommittedChange[]): void {
    this.published.push(...hints);
  }
  onHints(handler: HintHandler): () => void {
    this.handler = handler;
    return () => undefined;
  }
}

class FakeSweep {
  handler?: SweepHandler;
  get active(): boolean {
    return this.handler !== undefined;
  }
  start(handler: SweepHandler): void {
    this.handler = handler;
  }
  stop(): void {
    this.handler = undefined;
  }
}

describe('ChangeFeed', () => {
  let commit: CommitListener;
  let relay: FakeRelay;
  let sweep: FakeSweep;
  let feed: ChangeFeed;
  let metrics: MetricsService;
  let told: ChangeEvent[];

  beforeAll(() => Logger.overrideLogger(false));

  beforeEach(() => {
    const log = {
      onCommit: (listener: CommitListener) => (commit = listener),
    } as unknown as ChangeLog;
    relay = new FakeRelay();
    sweep = new FakeSweep();
    metrics = new MetricsService();
    feed = new ChangeFeed(log, relay, sweep as unknown as LogSweep, new RealtimeMetrics(metrics));
    told = [];
  });

  const count = async (source: string): Promise<number> => {
    const metric = await metrics.registry.getSingleMetric('sync_hints_total')!.get();
    return metric.values.find((v) => v.labels.source === source)?.value ?? 0;
  };

  it('tells its listeners of a local commit at once and passes it on to the other instances', async () => {
    feed.subscribe((event) => told.push(event));
    commit([change(5), change(5, 'u2')]);
    expect(told).toEqual([
      { ...change(5), source: 'local' },
      { ...change(5, 'u2'), source: 'local' },
    ]);
    expect(relay.published).toEqual([change(5), change(5, 'u2')]);
    relay.handler!([change(6)]);
    expect(told.map((e) => [e.txId, e.source])).toEqual([
      ['5', 'local'],
      ['5', 'local'],
      ['6', 'remote'],
    ]);
    expect(await count('local')).toBe(2);
    expect(await count('remote')).toBe(1);
  });

  it('passes commits on even while nobody here listens, and sweeps only while someone does', () => {
    commit([change(1)]);
    expect(relay.published).toEqual([change(1)]);
    expect(sweep.active).toBe(false);
    const unsubscribe = feed.subscribe(() => undefined);
    const other = feed.subscribe(() => undefined);
    expect(sweep.active).toBe(true);
    unsubscribe();
    expect(sweep.active).toBe(true);
    other();
    expect(sweep.active).toBe(false);
  });

  it('tells what the sweep found only when no hint told it, and forgets what the sweep has passed', async () => {
    feed.subscribe((event) => told.push(event));
    commit([change(10)]);
    relay.handler!([change(11)]);
    sweep.handler!([change(10), change(11), change(12), change(12, 'u2')], 0n, 13n);
    expect(told.map((e) => `${e.txId}:${e.userId}:${e.source}`)).toEqual([
      '10:u1:local',
      '11:u1:remote',
      '12:u1:sweep',
      '12:u2:sweep',
    ]);
    expect(await count('sweep')).toBe(2);
    // A hint that arrives after the sweep told it is told again: hints are only hints.
    relay.handler!([change(12)]);
    expect(told).toHaveLength(5);
    // Once the sweep has moved past them, told transactions are forgotten, not kept forever.
    sweep.handler!([], 13n, 20n);
    sweep.handler!([change(10)], 13n, 20n);
    expect(told.map((e) => e.txId).slice(-1)).toEqual(['10']);
  });
});
