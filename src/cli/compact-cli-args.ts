import type { CompactionOptions } from '../compaction/compaction-report';

export const USAGE = 'usage: npm run compact -- [--user <id>] [--min-age-hours N] [--dry-run]';

/** `--user <id>`, `--min-age-hours N` (a whole number), `--dry-run`; anything else is an error. */
export function parseCompactArgs(argv: readonly string[]): CompactionOptions {
  const options: CompactionOptions = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--dry-run') {
      options.dryRun = true;
    } else if (arg === '--user') {
      const value = argv[++i];
      if (!value || value.startsWith('--')) throw new Error('--user needs a user id');
      options.userId = value;
    } else if (arg === '--min-age-hours') {
      const value = argv[++i];
      if (!value || !/^\d+$/.test(value)) {
        throw new Error('--min-age-hours needs a whole number of hours');
      }
      options.minAgeHours = Number(value);
    } else {
      throw new Error(`unknown argument "${arg}"`);
    }
  }
  return options;
}
