import { Injectable, Logger } from '@nestjs/common';
import { CompactionConfig } from '../config/app-config';
import { CompactionMetrics } from './compaction.metrics';
import { CompactionOptions, CompactionReport, describeReport } from './compaction-report';
import type { CompactionRepository, RecordKey } from './compaction.repository';
import { CompactionRunner } from './compaction.runner';
import { errorMessage } from '../common/error-message';

/** A batch also stops at this many rows (at least one record), so a long history cannot make it long. */
export const BATCH_MAX_ROWS = 20_000;

interface BatchOutcome {
  last: RecordKey;
  full: boolean;
  records: number;
  rowsScanned: number;
  rowsRemoved: number;
  fieldsStripped: number;
}

/** Runs a pass batch by batch: the repository judges each batch by the rule and removes what it lets go. */
@Injectable()
export class CompactionService {
  private readonly logger = new Logger('Compaction');

  constructor(
    private readonly runner: CompactionRunner,
    private readonly metrics: CompactionMetrics,
    private readonly config: CompactionConfig,
  ) {}

  async runPass(options: CompactionOptions = {}): Promise<CompactionReport> {
    const started = Date.now();
    const { passMaxMs } = this.config;
    const minAgeHours = options.minAgeHours ?? this.config.minAgeHours;
    const dryRun = options.dryRun ?? false;
    // A user's run and a dry run leave the shared resume point alone.
    const resumable = options.userId === undefined && !dryRun;
    const report: CompactionReport = {
      ran: false,
      dryRun,
      complete: false,
      batches: 0,
      records: 0,
      rowsScanned: 0,
      rowsRemoved: 0,
      fieldsStripped: 0,
      durationMs: 0,
    };
    try {
      await this.runner.withLock(async (session) => {
        report.ran = true;
        let after = resumable ? await session.batch((repo) => repo.resumePoint()) : null;
        for (;;) {
          const outcome = await session.batch(
            (repo) => this.runBatch(repo, after, { ...options, minAgeHours, dryRun, resumable }),
            !dryRun,
          );
          if (outcome) {
            report.batches++;
            report.records += outcome.records;
            report.rowsScanned += outcome.rowsScanned;
            report.rowsRemoved += outcome.rowsRemoved;
            report.fieldsStripped += outcome.fieldsStripped;
            after = outcome.last;
          }
          if (!outcome?.full) {
            report.complete = true;
            break;
          }
          if (options.signal?.aborted) break;
          if (!options.untilComplete && Date.now() - started >= passMaxMs) break;
        }
      });
    } catch (error) {
      this.metrics.recordFailure();
      this.logger.error(
        `compaction pass failed after ${report.batches} batches: ${errorMessage(error)}`,
      );
      throw error;
    }
    report.durationMs = Date.now() - started;
    this.metrics.recordPass(report);
    this.logger.log(describeReport(report));
    return report;
  }

  /**
   * One batch, in its own transaction: the next records after `after` (bounded by records
   * and rows), judged by the rule, and what it lets go removed or stripped. Null once no
   * record is left.
   */
  private async runBatch(
    repo: CompactionRepository,
    after: RecordKey | null,
    options: CompactionOptions & { minAgeHours: number; dryRun: boolean; resumable: boolean },
  ): Promise<BatchOutcome | null> {
    const { batchRecords } = this.config;
    const next = await repo.nextRecords(after, batchRecords, options.userId);
    const keys: RecordKey[] = [];
    let rows = 0;
    for (const key of next) {
      if (keys.length > 0 && rows + key.rows > BATCH_MAX_ROWS) break;
      keys.push(key);
      rows += key.rows;
    }
    const full = next.length === batchRecords || keys.length < next.length;
    if (options.resumable) await repo.saveResumePoint(full ? keys[keys.length - 1] : null);
    if (keys.length === 0) return null;
    const { scanned, remove, strip } = await repo.judge(keys, options.minAgeHours, options.userId);
    const fieldsStripped = strip.reduce((n, s) => n + s.fields.length, 0);
    let rowsRemoved = remove.length;
    if (!options.dryRun) {
      rowsRemoved = await repo.remove(remove);
      await repo.strip(strip);
    }
    return {
      last: keys[keys.length - 1],
      full,
      records: keys.length,
      rowsScanned: scanned,
      rowsRemoved,
      fieldsStripped,
    };
  }
}
