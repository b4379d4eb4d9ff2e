import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { createWriteStream } from 'fs';
import { AppModule } from '../app.module';
import { loadConfig } from '../config/app-config';
import { MembershipProvider } from '../spaces/membership-provider';
import { BackupService } from './backup.service';
import { CliCommand, parseCliArgs, USAGE } from './backup-cli-args';

/**
 * Operators' entry to the same BackupService the endpoints use:
 *   npm run backup -- export --user <id> --out file.mana
 *   npm run backup -- import --user <id> --in file.mana
 * Configured by the service's environment (DATABASE_URL, MANA_AUTH_URL, ...).
 */

async function run(cli: CliCommand): Promise<string> {
  const config = loadConfig();
  const context = await NestFactory.createApplicationContext(AppModule.forRoot(config), {
    logger: ['error', 'warn'],
    abortOnError: false,
  });
  try {
    const backup = context.get(BackupService);
    if (cli.command === 'export') {
      const out = createWriteStream(cli.file);
      try {
        const manifest = await backup.exportArchive({ userId: cli.userId, spaceIds: [] }, out);
        return `exported ${manifest.eventCount} events of user ${cli.userId} to ${cli.file} (sha256 ${manifest.eventsSha256})`;
      } catch (error) {
        throw new Error(
          `${message(error)}; ${cli.file} is incomplete (no manifest), do not keep it`,
          {
            cause: error,
          },
        );
      }
    }
    // Same space rule as the endpoint: memberships decide into which shared spaces rows may go back.
    const memberships = await context.get(MembershipProvider).membershipsOf(cli.userId);
    const result = await backup.importFile(
      {
        userId: cli.userId,
        spaceIds: memberships.spaceIds,
        membershipsAvailable: memberships.available,
      },
      cli.file,
    );
    return `imported ${cli.file} for user ${cli.userId}: ${JSON.stringify(result)}`;
  } finally {
    await context.close();
  }
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

if (require.main === module) {
  let cli: CliCommand;
  try {
    cli = parseCliArgs(process.argv.slice(2));
  } catch (error) {
    console.error(`${message(error)}\n${USAGE}`);
    process.exit(2);
  }
  run(cli).then(
    (summary) => {
      process.stdout.write(`${summary}\n`);
    },
    (error: unknown) => {
      console.error(`backup failed: ${message(error)}`);
      process.exitCode = 1;
    },
  );
}
