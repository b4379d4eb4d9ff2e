import { BeforeApplicationShutdown, Injectable, Logger } from '@nestjs/common';
import { RealtimeConfig } from '../config/app-config';
import type { CommittedChange } from '../store/change-log';
import { CommittedLogRepository } from '../store/committed-log.repository';
import { HorizonMonitor } from './horizon-monitor';
import { errorMessage } from '../common/error-message';

/** Entries per read; a longer backlog is read over the next sweeps. */
const SWEEP_LIMIT = 1_000;

/**
 * `found`: what committed; no later sweep reports a transaction below `from` again, nor
 * finds anything new below `below` but the transactions still open then.
 */
export type SweepHandler = (found: readonly CommittedChange[], from: bigint, below: bigint) => void;

/**
 * The safety net under the hints: a hint may be lost (its instance killed between COMMIT
 * and NOTIFY, a connection dropping, a direct SQL writer that sends none). While anything
 * listens here, this reads every HINT_SWEEP_INTERVAL_MS who committed changes since the last
 * read, up to the next xid of a horizon sample taken first, and again the writers that
 * sample showed open (docs/cursor.md: a transaction below that xid that may still add rows
 * holds a claim, so it is in the sample). A writer open for long is re-read alone until it
 * ends; it holds back nobody else's sweep. The change feed tells what no hint brought.
 */
@Injectable()
export class LogSweep implements BeforeApplicationShutdown {
  private readonly logger = new Logger('LogSweep');
  private timer?: NodeJS.Timeout;
  private handler?: SweepHandler;
  /** Where the next read starts: the next xid of the last one (undefined: not read yet). */
  private from?: bigint;
  /** Writers below `from` that were open at the last read: read again until they end. */
  private open: bigint[] = [];
  private running?: Promise<void>;
  private failing = false;
  private readonly intervalMs: number;

  constructor(
    private readonly monitor: HorizonMonitor,
    private readonly log: CommittedLogRepository,
    config: RealtimeConfig,
  ) {
    this.intervalMs = config.hintSweepIntervalMs;
  }

  get active(): boolean {
    return this.timer !== undefined;
  }

  /** Starts sweeping from the current horizon: what committed before is not looked for. */
  start(handler: SweepHandler): void {
    this.handler = handler;
    if (this.timer) return;
    this.from = undefined;
    this.timer = setInterval(() => void this.sweep(), this.intervalMs).unref();
    void this.sweep();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    this.from = undefined;
    this.open = [];
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.stop();
    await this.running;
  }

  /** One read; overlapping calls share it. Exposed for tests, which need not wait a second. */
  sweep(): Promise<void> {
    this.running ??= this.read().finally(() => (this.running = undefined));
    return this.running;
  }

  private async read(): Promise<void> {
    try {
      const sample = await this.monitor.sample();
      const next = sample.nextXid;
      const from = this.from;
      if (from === undefined || !this.timer) {
        if (this.timer) {
          this.from = next;
          this.open = sample.holders.map((h) => h.xid).filter((xid) => xid < next);
        }
        return;
      }
      const again = this.open;
      if (next <= from && again.length === 0) return;
      const found = await this.log.committedBetween(from, next, SWEEP_LIMIT, again);
      let below = next;
      const ranged = found.filter((c) => BigInt(c.txId) >= from);
      if (ranged.length === SWEEP_LIMIT) {
        // The last transaction's entries may go on past the limit: it is read again next time
        // (unless it alone filled the page, then it is taken as it is, to move on).
        const last = BigInt(ranged[ranged.length - 1].txId);
        below = last > from ? last : last + 1n;
      }
      // Open at the sample: they may still commit rows (found now if they committed since).
      const stillOpen = sample.holders.map((h) => h.xid).filter((xid) => xid < below);
      if (this.timer && this.from === from) {
        this.from = below;
        this.open = stillOpen;
        const lowest = stillOpen.reduce((min, xid) => (xid < min ? xid : min), below);
        this.handler?.(
          found.filter((c) => BigInt(c.txId) < below),
          lowest,
          below,
        );
      }
      if (this.failing) this.logger.log('the log sweep reads again');
      this.failing = false;
    } catch (error) {
      if (!this.failing && this.timer) {
        this.logger.warn(
          `log sweep failed (${errorMessage(error)}); retrying every ${this.intervalMs} ms`,
        );
      }
      this.failing = true;
    }
  }
}
