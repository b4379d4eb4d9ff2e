import { Injectable } from '@nestjs/common';
import { Gauge } from 'prom-client';
import { MetricsService } from '../metrics/metrics.service';

/**
 * What holds a reader's horizon back: `everyone`, a transaction every reader waits for (one
 * that wrote the change log without claiming its scopes; with SYNC_HORIZON=global, any
 * transaction that has an id); `scopes`, a writer that holds back the readers of the scopes
 * it claimed only.
 */
export type HorizonCause = 'everyone' | 'scopes';

export const HORIZON_CAUSES: readonly HorizonCause[] = ['everyone', 'scopes'];

/** The horizon's series, registered on the service's registry; read at scrape time. */
@Injectable()
export class HorizonMetrics {
  private read?: () => Promise<Record<HorizonCause, number> | undefined>;

  constructor(metrics: MetricsService) {
    const gauge: Gauge<'cause'> = new Gauge({
      name: 'sync_horizon_lag_seconds',
      help: 'How long the oldest open writer of the change log has held readers back, by cause (everyone: every reader; scopes: readers of the scopes it claimed); 0: none',
      labelNames: ['cause'] as const,
      registers: [metrics.registry],
      collect: async () => {
        // A database that is down leaves the last values; the scrape itself must not fail.
        const lags = await this.read?.().catch(() => undefined);
        if (lags) for (const cause of HORIZON_CAUSES) gauge.set({ cause }, lags[cause]);
      },
    });
  }

  /** Where the lags come from (HorizonMonitor). */
  readLagsFrom(read: () => Promise<Record<HorizonCause, number> | undefined>): void {
    this.read = read;
  }
}
