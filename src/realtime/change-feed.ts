import { Injectable, Logger } from '@nestjs/common';
import { callEach } from '../common/call-each';
import { ChangeLog, CommittedChange } from '../store/change-log';
import { HintRelay } from './hint-relay';
import { LogSweep } from './log-sweep';
import { HintSource, RealtimeMetrics } from './realtime.metrics';

/** "Something changed": a hint of a committed transaction, and where it came from. */
export interface ChangeEvent extends CommittedChange {
  source: HintSource;
}

export type ChangeListener = (event: ChangeEvent) => void;

/**
 * Turns commits into hints, the one seam between the log and everything live. A
 * transaction's report (ChangeLog, after COMMIT) is told to this instance's listeners at
 * once, in process, and passed to the HintRelay for the other instances; their hints come
 * back through it. While anything listens, the LogSweep reads the log about once a second
 * and tells what no hint brought (a writer killed between COMMIT and NOTIFY, a dropped
 * connection, a direct SQL writer). Listeners: the VisibilityGate, which holds each hint
 * until readers can see its transaction.
 */
@Injectable()
export class ChangeFeed {
  private readonly logger = new Logger('ChangeFeed');
  private readonly listeners = new Set<ChangeListener>();
  /** Transactions told while sweeping, so the sweep does not tell them again. */
  private readonly told = new Set<string>();

  constructor(
    log: ChangeLog,
    private readonly relay: HintRelay,
    private readonly sweep: LogSweep,
    private readonly metrics: RealtimeMetrics,
  ) {
    log.onCommit((changes) => {
      this.tell(changes, 'local');
      relay.publish(changes);
    });
    relay.onHints((hints) => this.tell(hints, 'remote'));
  }

  get listenerCount(): number {
    return this.listeners.size;
  }

  /** Sweeping runs while there is a listener. */
  subscribe(listener: ChangeListener): () => void {
    this.listeners.add(listener);
    if (!this.sweep.active) {
      this.told.clear();
      this.sweep.start((found, from) => this.swept(found, from));
    }
    return () => {
      this.listeners.delete(listener);
      if (this.listeners.size === 0) {
        this.sweep.stop();
        this.told.clear();
      }
    };
  }

  private tell(changes: readonly CommittedChange[], source: HintSource): void {
    if (changes.length === 0) return;
    this.metrics.hintsReceived(source, changes.length);
    if (this.listeners.size === 0) return;
    for (const change of changes) {
      this.told.add(change.txId);
      const event: ChangeEvent = { ...change, source };
      callEach(this.listeners, (listener) => listener(event), this.logger, 'change listener');
    }
  }

  /** What the sweep found: transactions no hint told of. */
  private swept(found: readonly CommittedChange[], from: bigint): void {
    const missed = found.filter((change) => !this.told.has(change.txId));
    // Transactions below `from` are never found again (those found now may be below it).
    for (const txId of this.told) if (BigInt(txId) < from) this.told.delete(txId);
    if (missed.length > 0) this.tell(missed, 'sweep');
  }
}
