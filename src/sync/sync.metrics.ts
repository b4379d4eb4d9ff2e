import { Injectable } from '@nestjs/common';
import { Counter } from 'prom-client';
import { MetricsService } from '../metrics/metrics.service';
import { scrapedGauge } from '../metrics/scraped-gauge';

/** Distinct `app` label values kept; any app id can be pushed to, so later ones share one series. */
const MAX_APP_LABELS = 200;
const OTHER_APPS = '_other';

/** Sync's own series (pushes, pulls, open streams), registered on the service's registry. */
@Injectable()
export class SyncMetrics {
  private readonly appLabels = new Set<string>();
  private readonly stored: Counter<'app' | 'op'>;
  private readonly pulls: Counter<'app'>;
  private readonly pulledRows: Counter<'app'>;
  private readOpenStreams: () => number = () => 0;

  constructor(metrics: MetricsService) {
    const registers = [metrics.registry];
    this.stored = new Counter({
      name: 'sync_changes_stored_total',
      help: 'Changes committed by pushes, by app and op',
      labelNames: ['app', 'op'] as const,
      registers,
    });
    this.pulls = new Counter({
      name: 'sync_pulls_total',
      help: 'Pull requests answered, by app',
      labelNames: ['app'] as const,
      registers,
    });
    this.pulledRows = new Counter({
      name: 'sync_pulled_rows_total',
      help: 'Changes returned by pulls, by app',
      labelNames: ['app'] as const,
      registers,
    });
    scrapedGauge(metrics.registry, 'sync_sse_streams_open', 'Open server-sent-event streams', () =>
      this.readOpenStreams(),
    );
  }

  /** Call after COMMIT only: rolled-back pushes stored nothing. */
  changesStored(appId: string, ops: readonly string[]): void {
    const app = this.appLabel(appId);
    const counts = new Map<string, number>();
    for (const op of ops) counts.set(op, (counts.get(op) ?? 0) + 1);
    for (const [op, count] of counts) this.stored.inc({ app, op }, count);
  }

  pulled(appId: string, rows: number): void {
    const app = this.appLabel(appId);
    this.pulls.inc({ app });
    this.pulledRows.inc({ app }, rows);
  }

  /** The streams' owner tells how to count them; read at scrape time. */
  countOpenStreams(read: () => number): void {
    this.readOpenStreams = read;
  }

  private appLabel(appId: string): string {
    if (this.appLabels.has(appId)) return appId;
    if (this.appLabels.size >= MAX_APP_LABELS) return OTHER_APPS;
    this.appLabels.add(appId);
    return appId;
  }
}
