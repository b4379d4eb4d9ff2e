/** What a compaction pass may be asked, and what it reports (the service, the metrics and the CLI read it). */
export interface CompactionOptions {
  /** Only this user's rows are removed or stripped (other users' rows still count as covering). */
  userId?: string;
  /** Overrides COMPACTION_MIN_AGE_HOURS for this pass. */
  minAgeHours?: number;
  /** Counts what would go, changes nothing. */
  dryRun?: boolean;
  /** Ignores COMPACTION_PASS_MAX_MS (the command-line run). */
  untilComplete?: boolean;
  /** Stops the pass after the running batch (shutdown); the next pass resumes. */
  signal?: AbortSignal;
}

export interface CompactionReport {
  /** False when another instance held the lock. */
  ran: boolean;
  dryRun: boolean;
  /** Reached the last record (otherwise stopped at COMPACTION_PASS_MAX_MS or by shutdown; the next pass resumes). */
  complete: boolean;
  batches: number;
  records: number;
  rowsScanned: number;
  rowsRemoved: number;
  fieldsStripped: number;
  durationMs: number;
}

export function describeReport(report: CompactionReport): string {
  if (!report.ran) return 'compaction pass skipped: another instance is running one';
  const verb = report.dryRun ? 'would remove' : 'removed';
  const stripVerb = report.dryRun ? 'would strip' : 'stripped';
  return (
    `compaction pass ${report.complete ? 'complete' : 'stopped early (the next resumes)'}: ` +
    `scanned ${report.rowsScanned} rows of ${report.records} records in ${report.batches} batches, ` +
    `${verb} ${report.rowsRemoved} rows, ${stripVerb} ${report.fieldsStripped} fields, ${report.durationMs} ms`
  );
}
