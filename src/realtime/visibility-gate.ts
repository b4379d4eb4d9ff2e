import { BeforeApplicationShutdown, Injectable, Logger } from '@nestjs/common';
import { callEach } from '../common/call-each';
import { HorizonSample, readerScopeKeys, WILDCARD_KEY } from '../store/horizon.repository';
import { ChangeEvent, ChangeFeed } from './change-feed';
import { HorizonMonitor } from './horizon-monitor';
import { NotificationListener } from './notification-listener';
import { RealtimeMetrics } from './realtime.metrics';

/** Whether a reader of this user and these spaces is to be told of the event now. */
export type ReaderFilter = (userId: string, spaceIds: readonly string[]) => boolean;

/**
 * Told of a change once some readers can see it: `tell` says which (a listener asks it for
 * each reader the event concerns). An event reaches each reader once.
 */
export type GateListener = (event: ChangeEvent, tell: ReaderFilter) => void;

const EVERYONE: ReaderFilter = () => true;

/** The first poll after a notification runs at once; then this, doubling while the horizon stands still. */
const POLL_MIN_MS = 20;
const POLL_MAX_MS = 1_000;

interface Held {
  /** The poll round it arrived in: events of one round are merged, later ones queue behind. */
  round: number;
  txId: bigint;
  event: ChangeEvent;
  /**
   * Once told to some readers: the scope keys whose readers were still held back then (an
   * older writer of those scopes was open). Undefined: told to nobody yet.
   */
  blocked?: Set<number>;
}

/**
 * Change notifications reach clients only once a reader can see the change.
 * A push's event arrives at COMMIT, but a read returns only rows below the
 * horizon of the reader's scopes (docs/cursor.md): while an older writer of one
 * of them is still open, a client told now would read nothing and never be
 * told again. So events are held until one per-instance poll of the horizon
 * shows, for a reader, every writer of its scopes older than the event's
 * transaction (`txId`) ended, and told to that reader then: to the readers no
 * older writer holds at once, to the others as their writers end, however long
 * that takes. Polls run only while something is held; events of one user, app,
 * client and spaces that arrive in the same round are merged. Listeners (SSE
 * streams, WebSockets) subscribe here, not on the ChangeFeed.
 * `sync_hint_delay_seconds` measures each delivery from its COMMIT.
 */
@Injectable()
export class VisibilityGate implements BeforeApplicationShutdown {
  private readonly logger = new Logger('VisibilityGate');
  private readonly listeners = new Set<GateListener>();
  /** Scope keys of readers, by user and spaces (md5 each): bounded, cleared when full. */
  private readonly readerKeys = new Map<string, Set<number>>();
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
  /** When the scheduled poll runs (ms since the epoch). */
  private pollAt = 0;
  /** When the last poll began (ms since the epoch). */
  private polledAt = 0;
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

  subscribe(listener: GateListener): () => void {
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
    if (txId < this.horizon) return this.emit(event, EVERYONE);
    const key = JSON.stringify([
      event.appId,
      event.userId,
      event.clientId,
      [...event.spaceIds].sort(),
    ]);
    let list = this.held.get(key);
    if (!list) this.held.set(key, (list = []));
    const last = list[list.length - 1];
    if (last && last.round === this.round && last.blocked === undefined) {
      last.event = merge(last.event, event);
      if (txId > last.txId) last.txId = txId;
    } else {
      list.push({ round: this.round, txId, event });
    }
    if (this.polling) return;
    if (this.timer === undefined) return this.schedule(0);
    // Polls back off while older writers hold some readers; a new event must not wait for that,
    // only for POLL_MIN_MS since the last poll began (the rate of polls stays bounded).
    const due = Math.max(0, this.polledAt + POLL_MIN_MS - Date.now());
    if (this.pollAt - Date.now() > due) {
      clearTimeout(this.timer);
      this.delay = POLL_MIN_MS;
      this.schedule(due);
    }
  }

  private schedule(delay: number): void {
    this.pollAt = Date.now() + delay;
    this.timer = setTimeout(() => void this.poll(), delay);
  }

  private async poll(): Promise<void> {
    this.timer = undefined;
    this.polling = true;
    this.polledAt = Date.now();
    let advanced = false;
    let sample: HorizonSample | undefined;
    try {
      sample = await this.monitor.sample();
      if (sample.horizon > this.horizon) {
        this.horizon = sample.horizon;
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
    if (sample && this.release(sample)) advanced = true;
    if (this.held.size === 0 && this.resyncAfter === undefined) {
      this.delay = 0;
      return;
    }
    this.delay = advanced || this.delay === 0 ? POLL_MIN_MS : Math.min(POLL_MAX_MS, this.delay * 2);
    this.schedule(this.delay);
  }

  /**
   * Tells each held event to the readers the sample shows can see it now, and not before;
   * an event stays held while older writers hold some of its readers back. True when
   * anything was told.
   */
  private release(sample: HorizonSample): boolean {
    if (this.resyncAfter !== undefined && this.horizon >= this.resyncAfter) {
      this.resyncAfter = undefined;
      callEach(this.resyncListeners, (listener) => listener(), this.logger, 'resync listener');
    }
    let told = false;
    for (const [key, list] of this.held) {
      const kept: Held[] = [];
      for (const held of list) {
        if (held.txId >= sample.nextXid) {
          kept.push(held);
          continue;
        }
        const blocking = blockingKeys(sample, held.txId);
        const before = held.blocked;
        if (before !== undefined && sameKeys(before, blocking)) {
          kept.push(held);
          continue;
        }
        // Readers held back before and free now; all of them when first told.
        const wasHeld = (keys: Set<number>): boolean =>
          before === undefined || [...keys].some((k) => before.has(k));
        if (!blocking.has(WILDCARD_KEY)) {
          this.emit(held.event, (userId, spaceIds) => {
            const keys = this.keysOf(userId, spaceIds);
            return wasHeld(keys) && ![...keys].some((k) => blocking.has(k));
          });
          told = true;
        }
        if (blocking.size > 0) kept.push({ ...held, blocked: blocking });
      }
      if (kept.length === 0) this.held.delete(key);
      else this.held.set(key, kept);
    }
    return told;
  }

  private keysOf(userId: string, spaceIds: readonly string[]): Set<number> {
    const id = JSON.stringify([userId, spaceIds]);
    let keys = this.readerKeys.get(id);
    if (!keys) {
      if (this.readerKeys.size >= READER_KEYS_CACHED) this.readerKeys.clear();
      keys = new Set(readerScopeKeys(userId, spaceIds));
      this.readerKeys.set(id, keys);
    }
    return keys;
  }

  private emit(event: ChangeEvent, tell: ReaderFilter): void {
    if (event.committedAt !== undefined) {
      this.metrics.hintDelivered(event.source, event.committedAt);
    }
    callEach(this.listeners, (listener) => listener(event, tell), this.logger, 'change listener');
  }
}

const READER_KEYS_CACHED = 10_000;

/** Scopes whose readers an open writer older than `txId` holds back. */
function blockingKeys(sample: HorizonSample, txId: bigint): Set<number> {
  const keys = new Set<number>();
  for (const holder of sample.holders) {
    if (holder.xid >= txId) break;
    for (const key of holder.scopeKeys) keys.add(key);
  }
  return keys;
}

function sameKeys(a: Set<number>, b: Set<number>): boolean {
  return a.size === b.size && [...a].every((k) => b.has(k));
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
