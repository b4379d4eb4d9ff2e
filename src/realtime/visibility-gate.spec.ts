import { Logger } from '@nestjs/common';
import { MetricsService } from '../metrics/metrics.service';
import type { ChangeEvent, ChangeFeed, ChangeListener } from './change-feed';
import type { HorizonMonitor } from './horizon-monitor';
import type { NotificationListener } from './notification-listener';
import { VisibilityGate } from './visibility-gate';
import { HorizonHolder, HorizonSample, scopeKey, WILDCARD_KEY } from '../store/horizon.repository';

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
    gate.subscribe((e, tell) => {
      if (tell(e.userId, [])) received.push(e);
    });
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

  it('tells each reader once no older writer of its own scopes is open, and only once', async () => {
    let sample: HorizonSample = { horizon: 10n, nextXid: 10n, holders: [] };
    const monitor = { sample: async () => sample } as unknown as HorizonMonitor;
    const listener = { onConnect: () => undefined } as unknown as NotificationListener;
    const scoped = new VisibilityGate(bus as unknown as ChangeFeed, monitor, metrics, listener);
    const readers = [
      { userId: 'u1', spaceIds: [] as string[] },
      { userId: 'u2', spaceIds: ['shared'] },
      { userId: 'u3', spaceIds: ['other'] },
    ];
    const told: string[] = [];
    scoped.subscribe((e, tell) => {
      for (const r of readers) if (tell(r.userId, r.spaceIds)) told.push(`${r.userId}@${e.txId}`);
    });
    const holder = (xid: bigint, scopes: string[]): HorizonHolder => ({
      pid: 1,
      applicationName: null,
      ageSeconds: 1,
      xid,
      scopeKeys: scopes.map(scopeKey),
    });
    // A writer of space "shared" (xid 5) and one of user u3 (xid 7) are open; u1 pushed (xid 9).
    sample = {
      horizon: 5n,
      nextXid: 10n,
      holders: [holder(5n, ['u:w', 's:shared']), holder(7n, ['u:u3'])],
    };
    bus.emit(event(9));
    await settle();
    expect(told).toEqual(['u1@9']);
    // The writer of u3 ends: u3 is told; u2 still waits for the writer of its space.
    sample = { ...sample, holders: [sample.holders[0]] };
    await settle(100);
    expect(told).toEqual(['u1@9', 'u3@9']);
    await settle(5_000);
    expect(told).toEqual(['u1@9', 'u3@9']);
    sample = { horizon: 12n, nextXid: 12n, holders: [holder(11n, ['u:u2'])] };
    await settle(2_000);
    expect(told).toEqual(['u1@9', 'u3@9', 'u2@9']);
    // An unattributed writer (the wildcard) holds everyone.
    sample = {
      horizon: 11n,
      nextXid: 13n,
      holders: [{ ...holder(11n, []), scopeKeys: [WILDCARD_KEY] }],
    };
    bus.emit(event(12));
    await settle(2_000);
    expect(told).toHaveLength(3);
    sample = { horizon: 13n, nextXid: 13n, holders: [] };
    await settle(2_000);
    expect(told.slice(3).sort()).toEqual(['u1@12', 'u2@12', 'u3@12']);
    scoped.beforeApplicationShutdown();
  });

  it('polls for a new event as soon as the last poll is POLL_MIN_MS old, not after the backed-off delay', async () => {
    let sample: HorizonSample = { horizon: 5n, nextXid: 10n, holders: [] };
    let samples = 0;
    const monitor = {
      sample: async () => {
        samples++;
        return sample;
      },
    } as unknown as HorizonMonitor;
    const listener = { onConnect: () => undefined } as unknown as NotificationListener;
    const scoped = new VisibilityGate(bus as unknown as ChangeFeed, monitor, metrics, listener);
    const told: string[] = [];
    scoped.subscribe((e, tell) => {
      if (tell(e.userId, [])) told.push(`${e.userId}@${e.txId}`);
    });
    const holderOf = (user: string): HorizonHolder => ({
      pid: 1,
      applicationName: null,
      ageSeconds: 1,
      xid: 5n,
      scopeKeys: [scopeKey(`u:${user}`)],
    });
    // An open writer of u1 (xid 5) holds u1's change: the polls back off to a second apart.
    sample = { horizon: 5n, nextXid: 12n, holders: [holderOf('u1')] };
    bus.emit(event(9, ['tasks'], 'u1'));
    await settle(5_000);
    expect(told).toEqual([]);
    const before = samples;
    // u2's change is told at once: the last poll is long past.
    bus.emit(event(11, ['tasks'], 'u2'));
    await settle(0);
    expect(told).toEqual(['u2@11']);
    expect(samples).toBe(before + 1);
    // Events close behind one another wait for POLL_MIN_MS since that poll, not longer.
    sample = { ...sample, nextXid: 14n };
    bus.emit(event(13, ['tasks'], 'u2'));
    await settle(0);
    expect(told).toEqual(['u2@11']);
    await settle(20);
    expect(told).toEqual(['u2@11', 'u2@13']);
    scoped.beforeApplicationShutdown();
  });
});
