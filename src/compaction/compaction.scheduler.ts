import { Inject, Injectable, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { CompactionService } from './compaction.service';

/**
 * Runs a compaction pass every COMPACTION_INTERVAL_MS (0: never). Every instance
 * schedules passes; the advisory lock lets one run at a time, the others skip.
 */
@Injectable()
export class CompactionScheduler implements OnApplicationBootstrap, OnApplicationShutdown {
  private timer?: NodeJS.Timeout;
  private running?: Promise<unknown>;
  private stopped = false;

  constructor(
    private readonly compaction: CompactionService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  onApplicationBootstrap(): void {
    if (this.config.compaction.intervalMs > 0) this.schedule();
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.running = this.compaction
        .runPass()
        .catch(() => undefined) // logged and counted by the service; the next period tries again
        .finally(() => {
          this.running = undefined;
          this.schedule();
        });
    }, this.config.compaction.intervalMs);
    this.timer.unref();
  }
}
