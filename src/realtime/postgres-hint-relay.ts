import { Injectable, Logger } from '@nestjs/common';
import { randomUUID } from 'crypto';
import { callEach } from '../common/call-each';
import { RealtimeConfig } from '../config/app-config';
import type { CommittedChange } from '../store/change-log';
import { decodeHints, encodeHints, HINT_CHANNEL } from './change-event-codec';
import { HintHandler, HintRelay } from './hint-relay';
import { NotificationListener } from './notification-listener';
import { errorMessage } from '../common/error-message';

/** Hints kept while the connection is down; older ones go (the log sweep finds them). */
const MAX_PENDING = 10_000;
/** After a failed send, the next try (sooner when the connection comes back). */
const RETRY_MS = 1_000;
/** How often it looks whether any other instance listens at all. */
const PEERS_CHECK_MS = 1_000;

/**
 * Hints to and from the other instances through NOTIFY/LISTEN, never from inside a push's
 * transaction: PostgreSQL takes one lock for the whole server to queue notifications at
 * commit and holds it across the commit's WAL flush, so notifying pushes could not share
 * a flush. Instead the hints of this instance's commits are gathered for a few
 * milliseconds and sent in one statement on the listener's own connection: at most one
 * notifying commit per instance at a time, however many pushes it serves
 * (HINT_COALESCE_MS). Sent hints that
 * fail (the connection is down) are kept and sent again once it is back; a hint lost all
 * the same (the instance dies before sending it) is found by the log sweep. While no other
 * instance listens (one looks every second), nothing is sent: an instance that starts
 * listening meanwhile finds those commits with its sweep.
 */
@Injectable()
export class PostgresHintRelay extends HintRelay {
  private readonly logger = new Logger('HintRelay');
  /** Tags this instance's notifications: it skips them when they come back through LISTEN. */
  private readonly instance = randomUUID();
  private readonly handlers = new Set<HintHandler>();
  private pending: CommittedChange[] = [];
  private timer?: NodeJS.Timeout;
  private sending?: Promise<void>;
  private failing = false;
  private stopped = false;
  /** Whether another instance listened at the last look (until the first look: assumed). */
  private peers = true;
  private readonly peersCheck: NodeJS.Timeout;

  private readonly coalesceMs: number;

  constructor(
    private readonly listener: NotificationListener,
    config: RealtimeConfig,
  ) {
    super();
    this.coalesceMs = config.hintCoalesceMs;
    listener.onPayload((payload) => this.receive(payload));
    // Hints that waited for the connection go as soon as it is back.
    listener.onConnect(() => {
      clearTimeout(this.timer);
      this.timer = undefined;
      this.schedule();
    });
    listener.beforeClose(() => this.flush());
    this.peersCheck = setInterval(() => void this.checkPeers(), PEERS_CHECK_MS).unref();
  }

  publish(hints: readonly CommittedChange[]): void {
    if (this.stopped) return;
    this.pending.push(...hints);
    if (this.pending.length > MAX_PENDING)
      this.pending.splice(0, this.pending.length - MAX_PENDING);
    this.schedule();
  }

  onHints(handler: HintHandler): () => void {
    this.handlers.add(handler);
    return () => this.handlers.delete(handler);
  }

  /** At shutdown: what is pending still goes out before the listener's connection closes. */
  private async flush(): Promise<void> {
    this.stopped = true;
    clearInterval(this.peersCheck);
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.sending;
    if (this.pending.length > 0 && this.listener.listening) await this.send();
  }

  private schedule(delay = this.coalesceMs): void {
    if (this.timer || this.sending || this.pending.length === 0 || this.stopped) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (this.listener.listening) void this.send();
      else this.schedule(RETRY_MS);
    }, delay);
  }

  private async checkPeers(): Promise<void> {
    if (!this.listener.listening) return;
    this.peers = await this.listener.otherListeners().then(
      (n) => n > 0,
      () => this.peers,
    );
  }

  private send(): Promise<void> {
    const batch = this.pending;
    this.pending = [];
    if (!this.peers) return Promise.resolve();
    const { payloads, degraded, dropped } = encodeHints(this.instance, batch);
    if (degraded.length > 0)
      this.logger.warn(`hints trimmed to fit NOTIFY: ${degraded.join(', ')}`);
    if (dropped > 0)
      this.logger.error(`${dropped} hint(s) too large to NOTIFY; other instances miss them`);
    this.sending = this.listener
      .notify(payloads)
      .then(
        () => {
          if (this.failing) this.logger.log('hints reach the other instances again');
          this.failing = false;
        },
        (error: unknown) => {
          // Sent again with the next ones; a duplicate hint is harmless.
          this.pending = batch.concat(this.pending).slice(-MAX_PENDING);
          if (!this.failing) {
            this.logger.warn(
              `cannot send hints to other instances (${errorMessage(error)}); retrying`,
            );
          }
          this.failing = true;
        },
      )
      .finally(() => {
        this.sending = undefined;
        this.schedule(this.failing ? RETRY_MS : this.coalesceMs);
      });
    return this.sending;
  }

  private receive(payload: string): void {
    const batch = decodeHints(payload);
    if (!batch) {
      this.logger.warn(`ignoring malformed notification on "${HINT_CHANNEL}"`);
      return;
    }
    if (batch.instance === this.instance) return;
    callEach(this.handlers, (handler) => handler(batch.hints), this.logger, 'hint handler');
  }
}
