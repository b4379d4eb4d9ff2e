import 'reflect-metadata';
import { DynamicModule, INestApplicationContext, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { CompactionPassModule } from '../compaction/compaction.module';
import { CompactionService, describeReport } from '../compaction/compaction.service';
import { AppConfig, loadConfig } from '../config/app-config';
import { ConfigModule } from '../config/config.module';
import { MigrationModule } from '../migration/migration.module';
import { StoreModule } from '../store/store.module';
import { CliMetricsModule } from './cli-metrics.module';
import { parseCompactArgs, USAGE } from './compact-cli-args';

/**
 * `npm run compact -- [--user <id>] [--min-age-hours N] [--dry-run]`: one compaction
 * pass over the whole log (or one user's rows), on DATABASE_URL or the embedded
 * database, with only the store, migrations and the pass booted.
 */
@Module({})
export class CompactCliModule {
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: CompactCliModule,
      imports: [
        ConfigModule.forRoot(config),
        StoreModule,
        MigrationModule,
        CliMetricsModule,
        CompactionPassModule,
      ],
    };
  }
}

/** The store, migrations and the pass, without HTTP or the schedule (also used by the bench). */
export function createCompactionContext(config: AppConfig): Promise<INestApplicationContext> {
  return NestFactory.createApplicationContext(CompactCliModule.forRoot(config), {
    logger: ['error', 'warn'],
    abortOnError: false,
  });
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

async function main(argv: string[]): Promise<number> {
  let options;
  try {
    options = parseCompactArgs(argv);
  } catch (error) {
    console.error(`${message(error)}\n${USAGE}`);
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
      console.error(`compact failed: ${message(error)}`);
      process.exitCode = 1;
    },
  );
}
