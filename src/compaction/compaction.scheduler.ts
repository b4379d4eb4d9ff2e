import { BeforeApplicationShutdown, Injectable, OnApplicationBootstrap } from '@nestjs/common';
import { CompactionConfig } from '../config/app-config';
import { CompactionService } from './compaction.service';

/**
 * Runs a compaction pass every COMPACTION_INTERVAL_MS (0: never). Every instance
 * schedules passes; the advisory lock lets one run at a time, the others skip.
 */
@Injectable()
export class CompactionScheduler implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private timer?: NodeJS.Timeout;
  private running?: Promise<unknown>;
  private readonly stopping = new AbortController();

  constructor(
    private readonly compaction: CompactionService,
    private readonly config: CompactionConfig,
  ) {}

  onApplicationBootstrap(): void {
    if (this.config.intervalMs > 0) this.schedule();
  }

  /** Before the pool closes: a running pass stops after its current batch; the next start resumes there. */
  async beforeApplicationShutdown(): Promise<void> {
    this.stopping.abort();
    clearTimeout(this.timer);
    await this.running;
  }

  private schedule(): void {
    if (this.stopping.signal.aborted) return;
    this.timer = setTimeout(() => {
      this.running = this.compaction
        .runPass({ signal: this.stopping.signal })
        .catch(() => undefined) // logged and counted by the service; the next period tries again
        .finally(() => {
          this.running = undefined;
          this.schedule();
        });
    }, this.config.intervalMs);
    this.timer.unref();
  }
}
