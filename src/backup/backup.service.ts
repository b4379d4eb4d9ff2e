import {
  BadRequestException,
  ForbiddenException,
  HttpException,
  Injectable,
  Logger,
  PayloadTooLargeException,
  UnsupportedMediaTypeException,
} from '@nestjs/common';
import { readFileSync } from 'fs';
import { mkdtemp, rm } from 'fs/promises';
import { tmpdir } from 'os';
import { dirname, join } from 'path';
import { Readable, Writable } from 'stream';
import { AuthenticatedUser } from '../auth/authenticated-user';
import { BackupConfig, SyncConfig } from '../config/app-config';
import { ServiceUnavailableError } from '../common/errors/http-errors';
import { assertMayWriteSpaces, SpaceWriteRefusedError } from '../spaces/space-write.policy';
import { ChangeLog } from '../store/change-log';
import { ChangeRow, NewChange } from '../store/change.repository';
import { LogPosition, START } from '../store/log-position';
import { RlsTransactionRunner } from '../store/rls-transaction.runner';
import { RlsScope } from '../store/transaction-host';
import { ArchiveLimits, ArchiveReader, asArchiveError, LineSplitter } from './archive-reader';
import { ArchiveWriter, ExportPage, PageLines } from './archive-writer';
import {
  BackupEvent,
  BackupManifest,
  EVENTS_ENTRY,
  EventsDigest,
  FORMAT_VERSION,
  MANIFEST_ENTRY,
  MAX_MANIFEST_BYTES,
  parseEvent,
  readVerifiedEvent,
  parseManifest,
  toRestoredChange,
} from './backup-format';
import { BackupRepository } from './backup.repository';
import './native-crc32';
import { Batch, BatchCutter } from './restore-batches';
import { spoolUpload } from './upload-spool';

export interface ImportResult {
  /** Events in the archive. */
  read: number;
  /** Events stored by this import. */
  inserted: number;
  /** Events whose eventId was stored already (an earlier import, or never lost). */
  skipped: number;
  /** Every event of the archive is stored now. */
  complete: true;
}

/**
 * The answer to an import that failed after some of its batches had
 * committed: they stay, and the answer says how far it got (`complete: false`).
 * Importing the same archive again skips the stored events and completes it.
 */
export function importIncomplete(cause: unknown, read: number, inserted: number): HttpException {
  const reason =
    cause instanceof HttpException ? cause.message : 'the database failed while writing';
  const body = {
    message: `The import stopped after storing ${inserted} of ${read} events (${reason}). Import the same archive again: stored events are skipped, so it completes`,
    complete: false,
    read,
    inserted,
  };
  if (cause instanceof HttpException) return new HttpException(body, cause.getStatus(), { cause });
  return new ImportInterruptedError(body);
}

/** A database failure midway: 503 with Retry-After, like every outage, and the import's progress. */
class ImportInterruptedError extends ServiceUnavailableError {
  constructor(private readonly body: { message: string }) {
    super(body.message);
  }

  override getResponse(): object {
    return this.body;
  }
}

/** Rows per page of the export (each its own short read), and their stored bytes. */
const EXPORT_PAGE_ROWS = 2000;
const EXPORT_PAGE_BYTES = 4 * 1024 * 1024;

/** The client id the hints of an import name: no connected client is the writer, so all are told. */
const IMPORT_CLIENT_ID = 'backup-import';

const PRODUCED_BY = producedBy();

/**
 * Export of a user's whole change log as a verifiable archive, and its
 * restore. HTTP and the CLI use the same two entry points.
 */
@Injectable()
export class BackupService {
  private readonly logger = new Logger('Backup');

  constructor(
    private readonly runner: RlsTransactionRunner,
    private readonly repository: BackupRepository,
    private readonly log: ChangeLog,
    private readonly config: BackupConfig,
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
          const rows = await this.repository.exportPage({
            apps,
            after,
            horizon,
            maxRows: EXPORT_PAGE_ROWS,
            maxBytes: EXPORT_PAGE_BYTES,
          });
          // Into lines as they come, so the row objects die young.
          const lines = new PageLines(writer.digest);
          for await (const row of rows) lines.add(row as ChangeRow);
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

  /** An uploaded archive: spooled to a temporary file (never whole in memory), then imported. */
  async importUpload(
    user: AuthenticatedUser,
    upload: Readable,
    declaredBytes?: number,
  ): Promise<ImportResult> {
    const maxBytes = this.config.importMaxBytes;
    if (declaredBytes !== undefined && declaredBytes > maxBytes) {
      throw new PayloadTooLargeException(
        `The archive exceeds ${maxBytes} bytes (BACKUP_IMPORT_MAX_BYTES)`,
      );
    }
    if (upload.readableEnded) {
      // express.json() consumed it: a JSON content type.
      throw new UnsupportedMediaTypeException('Send the archive as application/zip');
    }
    const dir = await mkdtemp(join(tmpdir(), 'sync-backup-'));
    try {
      const path = join(dir, 'upload.mana');
      await spoolUpload(upload, path, maxBytes);
      return await this.importFile(user, path, {
        maxInflateRatio: this.config.importMaxInflateRatio,
      });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  /**
   * Restores an archive for `user`. Everything is checked first (manifest,
   * owner, sha256, count, every event, space memberships); then the events are
   * inserted with their eventIds and times in batches, each its own short
   * transaction. An event stored already is skipped: importing the same
   * archive again inserts nothing, and completes an import that failed midway
   * (importIncomplete).
   */
  async importFile(
    user: AuthenticatedUser,
    path: string,
    limits: ArchiveLimits = {},
  ): Promise<ImportResult> {
    const archive = await ArchiveReader.open(path, limits);
    try {
      const manifest = this.readManifest(await this.manifestText(archive), user);
      const batches = await this.verifyEvents(archive, manifest, user);
      const inserted = await this.restore(archive, manifest, user, batches);
      return {
        read: manifest.eventCount,
        inserted,
        skipped: manifest.eventCount - inserted,
        complete: true,
      };
    } finally {
      archive.close();
    }
  }

  private async manifestText(archive: ArchiveReader): Promise<string> {
    if (!archive.has(MANIFEST_ENTRY)) {
      throw new BadRequestException(
        'The archive has no manifest.json: it is incomplete (its export failed midway) or not a sync backup',
      );
    }
    if (!archive.has(EVENTS_ENTRY))
      throw new BadRequestException('The archive has no events.jsonl');
    return archive.readText(MANIFEST_ENTRY, MAX_MANIFEST_BYTES);
  }

  private readManifest(text: string, user: AuthenticatedUser): BackupManifest {
    const manifest = parseManifest(text);
    if (manifest.userId !== user.userId) {
      throw new ForbiddenException('The archive belongs to another user');
    }
    const max = this.sync.maxSchemaVersion;
    if (manifest.schemaVersionMax !== null && manifest.schemaVersionMax > max) {
      throw new BadRequestException(
        `The archive holds schema version ${manifest.schemaVersionMax}; this server supports up to ${max}`,
      );
    }
    return manifest;
  }

  /**
   * First pass: the bytes must match the manifest before any event is believed
   * or written. Returns the digest of every batch the restore will write.
   */
  private async verifyEvents(
    archive: ArchiveReader,
    manifest: BackupManifest,
    user: AuthenticatedUser,
  ): Promise<string[]> {
    const digest = new EventsDigest();
    const cutter = new BatchCutter<undefined>();
    const batches: string[] = [];
    const splitter = new LineSplitter();
    // A damaged line is reported as damage to the archive (sha256), not as the bad JSON it became;
    // after it the rest is only hashed, not split or parsed.
    let firstProblem: Error | undefined;
    const onLine = (bytes: Buffer, number: number): void => {
      if (firstProblem) return;
      try {
        const event = parseEvent(bytes.toString('utf8'), number, this.sync.maxSchemaVersion);
        assertMayWrite(user, event, number);
        digest.add(event);
        const batch = cutter.add(bytes, undefined);
        if (batch) batches.push(batch.digest);
      } catch (error) {
        firstProblem = error as Error;
      }
    };
    try {
      for await (const chunk of await archive.open(EVENTS_ENTRY)) {
        digest.update(chunk as Buffer);
        if (firstProblem) continue;
        try {
          splitter.push(chunk as Buffer, onLine);
        } catch (error) {
          firstProblem = error as Error;
        }
      }
    } catch (error) {
      throw asArchiveError(error);
    }
    if (!firstProblem) splitter.end(onLine);
    if (digest.sha256() !== manifest.eventsSha256) {
      throw new BadRequestException(
        'events.jsonl does not match the sha256 in manifest.json: the archive is corrupted',
      );
    }
    if (firstProblem) throw firstProblem;
    if (digest.count !== manifest.eventCount) {
      throw new BadRequestException(
        `events.jsonl holds ${digest.count} events, manifest.json says ${manifest.eventCount}`,
      );
    }
    const last = cutter.finish();
    if (last) batches.push(last.digest);
    return batches;
  }

  /**
   * Second pass: each batch, once its bytes match the verified ones, in its own
   * transaction; returns how many events were new. Fails with
   * importIncomplete once a batch has been stored.
   */
  private async restore(
    archive: ArchiveReader,
    manifest: BackupManifest,
    user: AuthenticatedUser,
    verified: readonly string[],
  ): Promise<number> {
    const cutter = new BatchCutter<NewChange>();
    const splitter = new LineSplitter();
    const ready: Batch<NewChange>[] = [];
    let inserted = 0;
    let written = 0;
    const store = async (batch: Batch<NewChange>): Promise<void> => {
      // The file was verified in the first pass; one changed since (CLI input) must not be written.
      if (batch.digest !== verified[written]) {
        throw new BadRequestException('events.jsonl changed since it was verified');
      }
      const result = await this.runner.runAsUser(user, () =>
        this.log.append(batch.items, IMPORT_CLIENT_ID),
      );
      inserted += result.inserted;
      written++;
    };
    const onLine = (bytes: Buffer): void => {
      const event = readVerifiedEvent(bytes.toString('utf8'));
      const batch = cutter.add(bytes, toRestoredChange(event));
      if (batch) ready.push(batch);
    };
    const chunks = (await archive.open(EVENTS_ENTRY))[Symbol.asyncIterator]();
    try {
      for (;;) {
        let next: IteratorResult<Buffer>;
        try {
          next = (await chunks.next()) as IteratorResult<Buffer>;
        } catch (error) {
          throw asArchiveError(error);
        }
        if (next.done) break;
        splitter.push(next.value, onLine);
        while (ready.length > 0) await store(ready.shift()!);
      }
      splitter.end(onLine);
      const last = cutter.finish();
      if (last) ready.push(last);
      while (ready.length > 0) await store(ready.shift()!);
      if (written !== verified.length) {
        throw new BadRequestException('events.jsonl changed since it was verified');
      }
      return inserted;
    } catch (error) {
      await chunks.return?.();
      if (written === 0) throw error;
      this.logger.error(
        `import for user ${user.userId} stopped after ${written} of ${verified.length} batches (${inserted} events stored): ${
          error instanceof Error ? error.message : error
        }`,
      );
      throw importIncomplete(error, manifest.eventCount, inserted);
    }
  }
}

/** Restores follow the same space rule as pushes; the message names the line. */
function assertMayWrite(user: AuthenticatedUser, event: BackupEvent, lineNumber: number): void {
  try {
    assertMayWriteSpaces(user, [event.spaceId]);
  } catch (error) {
    if (error instanceof SpaceWriteRefusedError) {
      throw new ForbiddenException(
        `events.jsonl line ${lineNumber}: not a member of space "${event.spaceId}"`,
      );
    }
    throw error;
  }
}

/** `<name>/<version>` of the nearest package.json: the same from src/ (ts-node, jest) and dist/. */
function producedBy(): string {
  for (let dir = __dirname; ; dir = dirname(dir)) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as {
        name?: string;
        version?: string;
      };
      if (pkg.name) return `${pkg.name}/${pkg.version ?? '0.0.0'}`;
    } catch {
      // no package.json here: look further up
    }
    if (dirname(dir) === dir) return 'sync-server';
  }
}
