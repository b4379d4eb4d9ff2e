import 'reflect-metadata';
import { createWriteStream } from 'fs';
import { BackupExportService } from '../backup/backup-export.service';
import { BackupImportService } from '../backup/backup-import.service';
import { BackupServicesModule } from '../backup/backup.module';
import { loadConfig } from '../config/app-config';
import { ChangeFeedModule } from '../realtime/change-feed.module';
import { MembershipProvider } from '../spaces/membership-provider';
import { SpacesModule } from '../spaces/spaces.module';
import { CliCommand, parseCliArgs, USAGE } from './backup-cli-args';
import { errorMessage } from '../common/error-message';
import { createCliContext } from './cli.module';

/**
 * Operators' entry to the same backup services the endpoints use:
 *   npm run backup -- export --user <id> --out file.mana
 *   npm run backup -- import --user <id> --in file.mana
 * Configured by the service's environment (DATABASE_URL, MANA_AUTH_URL, ...),
 * with only the store, migrations, memberships and the change feed booted.
 */

async function run(cli: CliCommand): Promise<string> {
  const config = loadConfig();
  const context = await createCliContext(config, {
    // An import's hints reach running instances through the change feed, as the endpoint's do.
    imports: [SpacesModule.forRoot(), ChangeFeedModule, BackupServicesModule],
  });
  try {
    if (cli.command === 'export') {
      const out = createWriteStream(cli.file);
      try {
        const manifest = await context
          .get(BackupExportService)
          .exportArchive({ userId: cli.userId, spaceIds: [] }, out);
        return `exported ${manifest.eventCount} events of user ${cli.userId} to ${cli.file} (sha256 ${manifest.eventsSha256})`;
      } catch (error) {
        throw new Error(
          `${errorMessage(error)}; ${cli.file} is incomplete (no manifest), do not keep it`,
          {
            cause: error,
          },
        );
      }
    }
    // Same space rule as the endpoint: memberships decide into which shared spaces rows may go back.
    const memberships = await context.get(MembershipProvider).membershipsOf(cli.userId);
    const result = await context.get(BackupImportService).importFile(
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

if (require.main === module) {
  let cli: CliCommand;
  try {
    cli = parseCliArgs(process.argv.slice(2));
  } catch (error) {
    console.error(`${errorMessage(error)}\n${USAGE}`);
    process.exit(2);
  }
  run(cli).then(
    (summary) => {
      process.stdout.write(`${summary}\n`);
    },
    (error: unknown) => {
      console.error(`backup failed: ${errorMessage(error)}`);
      process.exitCode = 1;
    },
  );
}
