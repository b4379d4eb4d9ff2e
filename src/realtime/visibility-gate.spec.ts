import { Logger } from '@nestjs/common';
import { MetricsService } from '../metrics/metrics.service';
import type { ChangeEvent, ChangeFeed, ChangeListener } from './change-feed';
import type { HorizonMonitor } from './horizon-monitor';
import type { NotificationListener } from './notification-listener';
import { VisibilityGate } from './visibility-gate';

import { RealtimeMetrics } from './realtime.metrics';

/** Stands in for the ChangeFeed: tells its subscribers what a test emits. */
class FakeFeed {
  readonly listeners = new Set<ChangeListener>();
  subscribe(listener: ChangeListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
  emit(event: ChangeEvent): void {
    for (const listener of this.listeners) listener(event);
  }
}

function event(txId: number, tables = ['tasks'], userId = 'u1'): ChangeEvent {
  return {
    appId: 'todo',
    userId,
    clientId: 'c',
    tables,
    spaceIds: [],
    txId: String(txId),
    source: 'local',
  };
}

const metrics = new RealtimeMetrics(new MetricsService());

describe('VisibilityGate', () => {
  let bus: FakeFeed;
  let horizon: bigint;
  let polls: number;
  let gate: VisibilityGate;
  let received: ChangeEvent[];

  beforeAll(() => Logger.overrideLogger(false));

  beforeEach(() => {
    jest.useFakeTimers();
    bus = new FakeFeed();
    horizon = 10n;
    polls = 0;
    const monitor = {
      sample: async () => {
        polls++;
        return { horizon, nextXid: horizon, holders: [] };
      },
    } as unknown as HorizonMonitor;
    const listener = { onConnect: () => undefined } as unknown as NotificationListener;
    gate = new VisibilityGate(bus as unknown as ChangeFeed, monitor, metrics, listener);
    received = [];
    gate.subscribe((e) => received.push(e));
  });

  afterEach(() => {
    gate.beforeApplicationShutdown();
    jest.useRealTimers();
  });

  const settle = async (ms = 0): Promise<void> => {
    await jest.advanceTimersByTimeAsync(ms);
  };

  it('holds an event until the horizon has passed its transaction, however long', async () => {
    bus.emit(event(10));
    await settle();
    expect(received).toEqual([]);
    await settle(60_000);
    expect(received).toEqual([]);
    const pollsWhileHeld = polls;
    // Backing off: far fewer polls than one per 20 ms.
    expect(pollsWhileHeld).toBeLessThan(100);
    horizon = 11n;
    await settle(1_000);
    expect(received).toEqual([event(10)]);
    // Nothing held: no more polls.
    const after = polls;
    await settle(10_000);
    expect(polls).toBe(after);
  });

  it('delivers at once what the last seen horizon has passed, and merges one round per key', async () => {
    horizon = 20n;
    bus.emit(event(12));
    await settle();
    expect(received).toEqual([event(12)]);
    bus.emit(event(15));
    expect(received).toEqual([event(12), event(15)]);

    bus.emit(event(21, ['tasks']));
    bus.emit(event(22, ['notes']));
    bus.emit(event(23, ['notes'], 'u2'));
    horizon = 23n;
    await settle();
    // u1's two events of one round became one, at the later transaction; u2's waits for 23.
    expect(received.slice(2)).toEqual([{ ...event(22), tables: ['tasks', 'notes'] }]);
    horizon = 24n;
    await settle(1_000);
    expect(received.slice(3)).toEqual([event(23, ['notes'], 'u2')]);
  });

  it('does not let newer events of the same key postpone an older one', async () => {
    bus.emit(event(10));
    await settle();
    bus.emit(event(30));
    horizon = 11n;
    await settle(100);
    expect(received).toEqual([event(10)]);
    horizon = 31n;
    await settle(1_000);
    expect(received).toEqual([event(10), event(30)]);
  });

  it('after LISTEN reconnects, tells resync listeners once everything committed in the gap is visible', async () => {
    let connected: () => void = () => undefined;
    const listener = {
      onConnect: (handler: () => void) => (connected = handler),
    } as unknown as NotificationListener;
    let next = 50n;
    const monitor = {
      sample: async () => ({ horizon, nextXid: next, holders: [] }),
    } as unknown as HorizonMonitor;
    const withListener = new VisibilityGate(
      bus as unknown as ChangeFeed,
      monitor,
      metrics,
      listener,
    );
    let resyncs = 0;
    withListener.onResync(() => resyncs++);
    horizon = 40n;
    connected();
    await settle(100);
    expect(resyncs).toBe(0);
    next = 60n;
    horizon = 50n;
    await settle(1_000);
    expect(resyncs).toBe(1);
    await settle(10_000);
    expect(resyncs).toBe(1);
    withListener.beforeApplicationShutdown();
  });

  it('subscribes to the bus only while it has listeners', () => {
    expect(bus.listeners.size).toBe(1);
    const unsubscribe = gate.subscribe(() => undefined);
    expect(bus.listeners.size).toBe(1);
    unsubscribe();
    gate['listeners'].clear();
    gate.subscribe(() => undefined)();
    expect(bus.listeners.size).toBe(0);
  });
});
