import { BeforeApplicationShutdown, Injectable, Logger } from '@nestjs/common';
import { callEach } from '../common/call-each';
import { ChangeEvent, ChangeFeed, ChangeListener } from './change-feed';
import { HorizonMonitor } from './horizon-monitor';
import { NotificationListener } from './notification-listener';
import { RealtimeMetrics } from './realtime.metrics';

/** The first poll after a notification runs at once; then this, doubling while the horizon stands still. */
const POLL_MIN_MS = 20;
const POLL_MAX_MS = 1_000;

interface Held {
  /** The poll round it arrived in: events of one round are merged, later ones queue behind. */
  round: number;
  txId: bigint;
  event: ChangeEvent;
}

/**
 * Change notifications reach clients only once a reader can see the change.
 * A push's event arrives at COMMIT, but a read returns only rows below the
 * cursor horizon (docs/cursor.md): while an older write transaction of the
 * database is still open, a client told now would read nothing and never be
 * told again. So events are held until one per-instance poll of the horizon
 * shows it above the writer's transaction (the event's `txId`), however long
 * that takes, and delivered then. Polls run only while something is held;
 * events of one user, app, client and spaces that arrive in the same round
 * are merged. Listeners (SSE streams, WebSockets) subscribe here, not on the
 * ChangeFeed. `sync_hint_delay_seconds` measures each delivery from its COMMIT.
 */
@Injectable()
export class VisibilityGate implements BeforeApplicationShutdown {
  private readonly logger = new Logger('VisibilityGate');
  private readonly listeners = new Set<ChangeListener>();
  private readonly held = new Map<string, Held[]>();
  private readonly resyncListeners = new Set<() => void>();
  /**
   * Set when notifications may have been lost (the LISTEN connection was down): the next
   * xid at reconnection. Resync listeners are told once the horizon has reached it, so
   * everything committed in the gap is visible to the read they make.
   */
  private resyncAfter?: bigint;
  private unsubscribeFeed?: () => void;
  /** Highest horizon seen: it never decreases, so any transaction below it has ended. */
  private horizon = 0n;
  private round = 0;
  private timer?: NodeJS.Timeout;
  private polling = false;
  private delay = 0;
  private stopped = false;

  constructor(
    private readonly feed: ChangeFeed,
    private readonly monitor: HorizonMonitor,
    private readonly metrics: RealtimeMetrics,
    listener: NotificationListener,
  ) {
    listener.onConnect(() => void this.resync());
  }

  get listenerCount(): number {
    return this.listeners.size;
  }

  /** Events being held for visibility, for metrics and tests. */
  get heldCount(): number {
    let count = 0;
    for (const list of this.held.values()) count += list.length;
    return count;
  }

  subscribe(listener: ChangeListener): () => void {
    this.listeners.add(listener);
    if (!this.unsubscribeFeed && !this.stopped) {
      this.unsubscribeFeed = this.feed.subscribe((event) => this.receive(event));
    }
    return () => {
      this.listeners.delete(listener);
      if (this.listeners.size === 0) {
        this.unsubscribeFeed?.();
        this.unsubscribeFeed = undefined;
      }
    };
  }

  /** Told when notifications may have been lost; the listener should read everything again. */
  onResync(listener: () => void): () => void {
    this.resyncListeners.add(listener);
    return () => this.resyncListeners.delete(listener);
  }

  beforeApplicationShutdown(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.unsubscribeFeed?.();
    this.unsubscribeFeed = undefined;
    this.held.clear();
  }

  private async resync(): Promise<void> {
    if (this.stopped || this.resyncListeners.size === 0) return;
    let nextXid: bigint;
    try {
      ({ nextXid } = await this.monitor.sample());
    } catch {
      // The database went again; the next reconnection asks once more.
      return;
    }
    if (this.resyncAfter === undefined || nextXid > this.resyncAfter) this.resyncAfter = nextXid;
    if (!this.polling && this.timer === undefined) this.schedule(0);
  }

  private receive(event: ChangeEvent): void {
    const txId = BigInt(event.txId);
    if (txId < this.horizon) return this.emit(event);
    const key = JSON.stringify([
      event.appId,
      event.userId,
      event.clientId,
      [...event.spaceIds].sort(),
    ]);
    let list = this.held.get(key);
    if (!list) this.held.set(key, (list = []));
    const last = list[list.length - 1];
    if (last && last.round === this.round) {
      last.event = merge(last.event, event);
      if (txId > last.txId) last.txId = txId;
    } else {
      list.push({ round: this.round, txId, event });
    }
    if (!this.polling && this.timer === undefined) this.schedule(0);
  }

  private schedule(delay: number): void {
    this.timer = setTimeout(() => void this.poll(), delay);
  }

  private async poll(): Promise<void> {
    this.timer = undefined;
    this.polling = true;
    let advanced = false;
    try {
      const { horizon } = await this.monitor.sample();
      if (horizon > this.horizon) {
        this.horizon = horizon;
        advanced = true;
      }
    } catch (error) {
      if (!this.stopped)
        this.logger.warn(
          `horizon poll failed, holding notifications: ${error instanceof Error ? error.message : error}`,
        );
    } finally {
      this.polling = false;
    }
    if (this.stopped) return;
    this.round++;
    this.release();
    if (this.held.size === 0 && this.resyncAfter === undefined) {
      this.delay = 0;
      return;
    }
    this.delay = advanced || this.delay === 0 ? POLL_MIN_MS : Math.min(POLL_MAX_MS, this.delay * 2);
    this.schedule(this.delay);
  }

  /** Delivers, per key, everything the horizon has passed, as one event. */
  private release(): void {
    if (this.resyncAfter !== undefined && this.horizon >= this.resyncAfter) {
      this.resyncAfter = undefined;
      callEach(this.resyncListeners, (listener) => listener(), this.logger, 'resync listener');
    }
    for (const [key, list] of this.held) {
      let due: Held | undefined;
      while (list.length > 0 && list[0].txId < this.horizon) {
        const next = list.shift()!;
        due = due ? { ...next, event: merge(due.event, next.event) } : next;
      }
      if (list.length === 0) this.held.delete(key);
      if (due) this.emit(due.event);
    }
  }

  private emit(event: ChangeEvent): void {
    if (event.committedAt !== undefined) {
      this.metrics.hintDelivered(event.source, event.committedAt);
    }
    callEach(this.listeners, (listener) => listener(event), this.logger, 'change listener');
  }
}

/**
 * One event for both: their tables (none means "every table"), the later transaction, the
 * earlier commit time (the delay of the older hint is the one held longer).
 */
function merge(a: ChangeEvent, b: ChangeEvent): ChangeEvent {
  const tables =
    a.tables.length === 0 || b.tables.length === 0 ? [] : [...new Set([...a.tables, ...b.tables])];
  const times = [a.committedAt, b.committedAt].filter((t): t is number => t !== undefined);
  const merged: ChangeEvent = {
    ...a,
    tables,
    txId: BigInt(b.txId) > BigInt(a.txId) ? b.txId : a.txId,
  };
  if (times.length > 0) merged.committedAt = Math.min(...times);
  return merged;
}
