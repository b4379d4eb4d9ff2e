import { Injectable } from '@nestjs/common';
import { Counter, Gauge } from 'prom-client';
import { MetricsService } from '../metrics/metrics.service';
import type { CompactionReport } from './compaction-report';

/** Compaction's own series, registered on the service's registry by this module. */
@Injectable()
export class CompactionMetrics {
  private readonly passes: Counter<'result'>;
  private readonly rowsRemoved: Counter;
  private readonly fieldsStripped: Counter;
  private readonly rowsScanned: Counter;
  private readonly lastDuration: Gauge;
  private readonly lastRun: Gauge;

  constructor(metrics: MetricsService) {
    const registers = [metrics.registry];
    this.passes = new Counter({
      name: 'sync_compaction_passes_total',
      help: 'Compaction passes, by result (complete, partial: stopped at COMPACTION_PASS_MAX_MS, skipped: another instance ran one, failed)',
      labelNames: ['result'] as const,
      registers,
    });
    this.rowsRemoved = new Counter({
      name: 'sync_compaction_rows_removed_total',
      help: 'Change rows removed by compaction',
      registers,
    });
    this.fieldsStripped = new Counter({
      name: 'sync_compaction_fields_stripped_total',
      help: 'Superseded fields stripped from update rows by compaction',
      registers,
    });
    this.rowsScanned = new Counter({
      name: 'sync_compaction_rows_scanned_total',
      help: 'Change rows compaction read',
      registers,
    });
    this.lastDuration = new Gauge({
      name: 'sync_compaction_last_duration_seconds',
      help: 'Duration of the last compaction pass that ran',
      registers,
    });
    this.lastRun = new Gauge({
      name: 'sync_compaction_last_run_timestamp_seconds',
      help: 'Unix time the last compaction pass that ran ended',
      registers,
    });
  }

  recordPass(report: CompactionReport): void {
    if (!report.ran) {
      this.passes.inc({ result: 'skipped' });
      return;
    }
    this.passes.inc({ result: report.complete ? 'complete' : 'partial' });
    if (!report.dryRun) {
      this.rowsRemoved.inc(report.rowsRemoved);
      this.fieldsStripped.inc(report.fieldsStripped);
    }
    this.rowsScanned.inc(report.rowsScanned);
    this.lastDuration.set(report.durationMs / 1000);
    this.lastRun.set(Date.now() / 1000);
  }

  recordFailure(): void {
    this.passes.inc({ result: 'failed' });
  }
}
