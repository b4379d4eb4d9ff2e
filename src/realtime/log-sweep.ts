import { BeforeApplicationShutdown, Injectable, Logger } from '@nestjs/common';
import { RealtimeConfig } from '../config/app-config';
import type { CommittedChange } from '../store/change-log';
import { CommittedLogRepository } from '../store/committed-log.repository';
import { HorizonMonitor } from './horizon-monitor';
import { errorMessage } from '../common/error-message';

/** Entries per read; a longer backlog is read over the next sweeps. */
const SWEEP_LIMIT = 1_000;

export type SweepHandler = (found: readonly CommittedChange[], from: bigint, below: bigint) => void;

/**
 * The safety net under the hints: a hint may be lost (its instance killed between COMMIT
 * and NOTIFY, a connection dropping, a direct SQL writer that sends none). While anything
 * listens here, this reads every HINT_SWEEP_INTERVAL_MS who committed changes since the last
 * read, up to the horizon (docs/cursor.md): every transaction below it has ended, so each
 * range is read once and is final. The change feed tells what no hint brought.
 */
@Injectable()
export class LogSweep implements BeforeApplicationShutdown {
  private readonly logger = new Logger('LogSweep');
  private timer?: NodeJS.Timeout;
  private handler?: SweepHandler;
  /** Where the next read starts: the horizon of the last one (undefined: not read yet). */
  private from?: bigint;
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
      const { horizon } = await this.monitor.sample();
      const from = this.from;
      if (from === undefined || !this.timer) {
        if (this.timer) this.from = horizon;
        return;
      }
      if (horizon <= from) return;
      const found = await this.log.committedBetween(from, horizon, SWEEP_LIMIT);
      let below = horizon;
      if (found.length === SWEEP_LIMIT) {
        // The last transaction's entries may go on past the limit: it is read again next time
        // (unless it alone filled the page, then it is taken as it is, to move on).
        const last = BigInt(found[found.length - 1].txId);
        below = last > from ? last : last + 1n;
      }
      if (this.timer && this.from === from) {
        this.from = below;
        this.handler?.(
          found.filter((c) => BigInt(c.txId) < below),
          from,
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
