import { Injectable, Logger } from '@nestjs/common';
import { Writable } from 'stream';
import { SyncConfig } from '../config/app-config';
import { LogPosition, START } from '../store/log-position';
import { RlsTransactionRunner } from '../store/rls-transaction.runner';
import { RlsScope } from '../store/transaction-host';
import { ArchiveWriter, ExportPage, PageLines } from './archive-writer';
import { BackupManifest, FORMAT_VERSION } from './backup-format';
import { BackupRepository } from './backup.repository';
import './native-crc32';
import { producedBy } from './produced-by';

/** Rows per page of the export (each its own short read), and their stored bytes. */
const EXPORT_PAGE_ROWS = 2000;
const EXPORT_PAGE_BYTES = 4 * 1024 * 1024;

const PRODUCED_BY = producedBy();

/** Export of a user's whole change log as a verifiable archive; HTTP and the CLI use it alike. */
@Injectable()
export class BackupExportService {
  private readonly logger = new Logger('Backup');

  constructor(
    private readonly runner: RlsTransactionRunner,
    private readonly repository: BackupRepository,
    private readonly sync: SyncConfig,
  ) {}

  /**
   * Writes the archive of `scope.userId` to `out` and ends it. It holds every
   * row below the horizon taken at the start (final rows, docs/cursor.md), read
   * in keyset pages, each its own short RLS transaction: however slowly `out`
   * takes the zip, no statement or transaction stays open meanwhile (one page
   * is read ahead). `onStart` runs just before the first byte goes out: a
   * failure before that (the database is down) leaves `out` untouched, so HTTP
   * can still answer with an error. A failure after it destroys `out`: the
   * archive is cut off before its manifest, which tells an importer it is
   * incomplete.
   */
  async exportArchive(
    scope: RlsScope,
    out: Writable,
    onStart: () => void = () => undefined,
  ): Promise<BackupManifest> {
    const writer = new ArchiveWriter(out, onStart);
    let ahead: Promise<ExportPage> | undefined;
    try {
      const { horizon, apps } = await this.runner.runAsUser(scope, () =>
        this.repository.exportStart(),
      );
      const page = (after: LogPosition): Promise<ExportPage> => {
        const read = this.runner.runAsUser(scope, async () => {
          // Into lines as they come, so the row objects die young.
          const lines = new PageLines(writer.digest);
          await this.repository.exportPage(
            { apps, after, horizon, maxRows: EXPORT_PAGE_ROWS, maxBytes: EXPORT_PAGE_BYTES },
            (row) => lines.add(row),
          );
          return lines.finish();
        });
        // Awaited below; until then a failure must not count as unhandled.
        read.catch(() => undefined);
        return read;
      };
      ahead = page(START);
      for (;;) {
        const { chunks, last } = await ahead;
        ahead = undefined;
        // From the first page on the answer is a 200; a failure before it can still be a 503.
        void writer.start();
        if (!last) break;
        ahead = page(last);
        await writer.write(chunks);
      }
      const { digest } = writer;
      const manifest: BackupManifest = {
        formatVersion: FORMAT_VERSION,
        schemaVersion: this.sync.maxSchemaVersion,
        userId: scope.userId,
        createdAt: writer.createdAt.toISOString(),
        eventCount: digest.count,
        eventsSha256: digest.sha256(),
        apps: digest.apps,
        producedBy: PRODUCED_BY,
        schemaVersionMin: digest.schemaVersionMin,
        schemaVersionMax: digest.schemaVersionMax,
      };
      await writer.finish(manifest);
      return manifest;
    } catch (error) {
      this.logger.error(
        `export for user ${scope.userId} failed after ${writer.digest.count} events, the archive has no manifest: ${
          error instanceof Error ? error.message : error
        }`,
      );
      writer.abort();
      // The page read ahead ends (and releases its connection) before the failure is reported.
      await ahead?.catch(() => undefined);
      throw error;
    }
  }
}
