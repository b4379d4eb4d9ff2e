import 'reflect-metadata';
import { INestApplicationContext } from '@nestjs/common';
import { CompactionPassModule } from '../compaction/compaction.module';
import { describeReport } from '../compaction/compaction-report';
import { CompactionService } from '../compaction/compaction.service';
import { AppConfig, loadConfig } from '../config/app-config';
import { errorMessage } from '../common/error-message';
import { createCliContext } from './cli.module';
import { parseCompactArgs, USAGE } from './compact-cli-args';

/**
 * `npm run compact -- [--user <id>] [--min-age-hours N] [--dry-run]`: one compaction
 * pass over the whole log (or one user's rows), on DATABASE_URL or the embedded
 * database, with only the store, migrations and the pass booted.
 */

/** The store, migrations and the pass, without HTTP or the schedule (also used by the bench). */
export function createCompactionContext(config: AppConfig): Promise<INestApplicationContext> {
  return createCliContext(config, { imports: [CompactionPassModule] });
}

async function main(argv: string[]): Promise<number> {
  let options;
  try {
    options = parseCompactArgs(argv);
  } catch (error) {
    console.error(`${errorMessage(error)}\n${USAGE}`);
    return 2;
  }
  const context = await createCompactionContext(loadConfig());
  try {
    // Without a time limit: an operator's run goes to the last record.
    const report = await context
      .get(CompactionService)
      .runPass({ ...options, untilComplete: true });
    process.stdout.write(`${describeReport(report)}\n`);
    return 0;
  } finally {
    await context.close();
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      console.error(`compact failed: ${errorMessage(error)}`);
      process.exitCode = 1;
    },
  );
}
