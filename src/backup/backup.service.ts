import {
  BadRequestException,
  ForbiddenException,
  Inject,
  Injectable,
  Logger,
  PayloadTooLargeException,
  UnsupportedMediaTypeException,
} from '@nestjs/common';
import { readFileSync } from 'fs';
import { mkdtemp, rm } from 'fs/promises';
import { tmpdir } from 'os';
import { dirname, join } from 'path';
import { PassThrough, Readable, Writable } from 'stream';
import { pipeline } from 'stream/promises';
import { ZipFile } from 'yazl';
import { AuthenticatedUser } from '../auth/authenticated-user';
import { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { ChangeBus } from '../realtime/change-bus';
import { assertMayWriteSpaces } from '../spaces/space-write.policy';
import { ChangeRepository, ChangeRow, NewChange } from '../store/change.repository';
import { RlsTransactionRunner } from '../store/rls-transaction.runner';
import { RlsScope } from '../store/transaction-host';
import { ArchiveReader, jsonLines } from './archive-reader';
import {
  BackupEvent,
  BackupManifest,
  EVENTS_ENTRY,
  EventsDigest,
  FORMAT_VERSION,
  MANIFEST_ENTRY,
  MAX_MANIFEST_BYTES,
  parseEvent,
  parseManifest,
  toBackupEvent,
  toRestoredChange,
} from './backup-format';
import { spoolUpload } from './upload-spool';

export interface ImportResult {
  /** Events in the archive. */
  read: number;
  /** Events stored by this import. */
  inserted: number;
  /** Events whose eventId was stored already (an earlier import, or never lost). */
  skipped: number;
}

/** Rows per INSERT, and a byte bound so a batch of large changes stays a modest statement. */
const RESTORE_BATCH_ROWS = 1000;
const RESTORE_BATCH_BYTES = 8 * 1024 * 1024;

/** Characters of events.jsonl per write into the zip. */
const EXPORT_CHUNK_CHARS = 64 * 1024;

/** The clientId of the change notification of an import: no connected client is the writer. */
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
    private readonly changes: ChangeRepository,
    private readonly bus: ChangeBus,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /**
   * Writes the archive of `scope.userId` to `out` and ends it. Rows are read
   * in one RLS transaction through a cursor, only as fast as `out` takes the
   * zip. `onStart` runs just before the first byte goes out: a failure before
   * that (the database is down) leaves `out` untouched, so HTTP can still
   * answer with an error. A failure after it destroys `out`: the archive is
   * cut off before its manifest, which tells an importer it is incomplete.
   */
  async exportArchive(
    scope: RlsScope,
    out: Writable,
    onStart: () => void = () => undefined,
  ): Promise<BackupManifest> {
    const createdAt = new Date();
    const digest = new EventsDigest();
    const zip = new ZipFile();
    const events = new PassThrough();
    // Its failures are read from `events.destroyed` by the loop below; without a listener an
    // 'error' emitted while the loop waits on the database would be an uncaught exception.
    events.on('error', () => undefined);
    zip.addReadStream(events, EVENTS_ENTRY, { mtime: createdAt });
    const output = zip.outputStream as unknown as Readable;
    const zipFailed = new Promise<never>((_, reject) => zip.on('error', reject));
    zipFailed.catch(() => undefined);
    let delivered: Promise<void> | undefined;
    const deliver = (): Promise<void> => {
      if (!delivered) {
        onStart();
        delivered = pipeline(output, out);
        // The reader went away (client disconnect, disk full): stop reading rows, end the transaction.
        delivered.catch((error: Error) => events.destroy(error));
      }
      return delivered;
    };
    try {
      await this.runner.runAsUser(scope, async () => {
        const rows = await this.changes.streamAllForUser();
        // A plain loop, not pipeline(): pipeline would wait for the cursor to close, which never
        // happens on a connection the server has dropped.
        // Lines go out in chunks of ~64 KB: one stream write per row would cost more than the row.
        let lines: string[] = [];
        let pending = 0;
        const write = async (): Promise<void> => {
          if (events.destroyed) {
            throw events.errored ?? new Error('the archive output closed early');
          }
          const chunk = Buffer.from(lines.join(''));
          lines = [];
          pending = 0;
          digest.update(chunk);
          if (!events.write(chunk)) await drained(events);
        };
        for await (const row of rows as AsyncIterable<ChangeRow>) {
          void deliver();
          const event = toBackupEvent(row);
          const line = `${JSON.stringify(event)}\n`;
          digest.add(event);
          lines.push(line);
          pending += line.length;
          if (pending >= EXPORT_CHUNK_CHARS) await write();
        }
        if (pending > 0) await write();
      });
      void deliver();
      events.end();
      const manifest: BackupManifest = {
        formatVersion: FORMAT_VERSION,
        schemaVersion: this.config.maxSchemaVersion,
        userId: scope.userId,
        createdAt: createdAt.toISOString(),
        eventCount: digest.count,
        eventsSha256: digest.sha256(),
        apps: digest.apps,
        producedBy: PRODUCED_BY,
        schemaVersionMin: digest.schemaVersionMin,
        schemaVersionMax: digest.schemaVersionMax,
      };
      zip.addBuffer(Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`), MANIFEST_ENTRY, {
        mtime: createdAt,
      });
      zip.end();
      await Promise.race([deliver(), zipFailed]);
      return manifest;
    } catch (error) {
      this.logger.error(
        `export for user ${scope.userId} failed after ${digest.count} events, the archive has no manifest: ${
          error instanceof Error ? error.message : error
        }`,
      );
      events.destroy();
      if (delivered) {
        // Without an error argument: the streams' pipeline is settled and no longer listens for
        // 'error', so an error here would surface as an uncaught exception. The reader sees the
        // connection cut, and an archive without its manifest.
        output.destroy();
        out.destroy();
      }
      throw error;
    }
  }

  /** An uploaded archive: spooled to a temporary file (never whole in memory), then imported. */
  async importUpload(
    user: AuthenticatedUser,
    upload: Readable,
    declaredBytes?: number,
  ): Promise<ImportResult> {
    const maxBytes = this.config.backupImportMaxBytes;
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
      return await this.importFile(user, path);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  /**
   * Restores an archive for `user`. Everything is checked first (manifest,
   * owner, sha256, count, every event, space memberships); then all events are
   * inserted in one transaction with their eventIds and times, so importing the
   * same archive again inserts nothing.
   */
  async importFile(user: AuthenticatedUser, path: string): Promise<ImportResult> {
    const archive = await ArchiveReader.open(path);
    try {
      const manifest = this.readManifest(await this.manifestText(archive), user);
      await this.verifyEvents(archive, manifest, user);
      const inserted = await this.runner.runAsUser(user, () => this.restore(archive, manifest));
      return { read: manifest.eventCount, inserted, skipped: manifest.eventCount - inserted };
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
    const max = this.config.maxSchemaVersion;
    if (manifest.schemaVersionMax !== null && manifest.schemaVersionMax > max) {
      throw new BadRequestException(
        `The archive holds schema version ${manifest.schemaVersionMax}; this server supports up to ${max}`,
      );
    }
    return manifest;
  }

  /** First pass: the bytes must match the manifest before any event is believed or written. */
  private async verifyEvents(
    archive: ArchiveReader,
    manifest: BackupManifest,
    user: AuthenticatedUser,
  ): Promise<void> {
    const digest = new EventsDigest();
    // A damaged line is reported as damage to the archive (sha256), not as the bad JSON it became.
    let firstProblem: Error | undefined;
    const lines = jsonLines(await archive.open(EVENTS_ENTRY), (bytes) => digest.update(bytes));
    for await (const { line, number } of lines) {
      if (firstProblem) continue;
      try {
        const event = parseEvent(line, number, this.config.maxSchemaVersion);
        assertMayWrite(user, event, number);
        digest.add(event);
      } catch (error) {
        firstProblem = error as Error;
      }
    }
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
  }

  /** Second pass, inside the caller's transaction: inserts in batches; returns how many were new. */
  private async restore(archive: ArchiveReader, manifest: BackupManifest): Promise<number> {
    const digest = new EventsDigest();
    const touched = new Map<string, { tables: Set<string>; spaceIds: Set<string> }>();
    let batch: NewChange[] = [];
    let batchBytes = 0;
    let inserted = 0;
    let txId = 0n;
    const flush = async (): Promise<void> => {
      const result = await this.changes.insertBatch(batch);
      inserted += result.inserted;
      if (result.inserted > 0) txId = result.txId;
      batch = [];
      batchBytes = 0;
    };
    const lines = jsonLines(await archive.open(EVENTS_ENTRY), (bytes) => digest.update(bytes));
    for await (const { line, number } of lines) {
      const event = parseEvent(line, number, this.config.maxSchemaVersion);
      batch.push(toRestoredChange(event));
      batchBytes += line.length;
      const app = touched.get(event.appId) ?? { tables: new Set(), spaceIds: new Set() };
      app.tables.add(event.table);
      if (event.spaceId !== null) app.spaceIds.add(event.spaceId);
      touched.set(event.appId, app);
      if (batch.length >= RESTORE_BATCH_ROWS || batchBytes >= RESTORE_BATCH_BYTES) await flush();
    }
    if (batch.length > 0) await flush();
    // The file was verified in the first pass; a file changed since (CLI input) must not half-restore.
    if (digest.sha256() !== manifest.eventsSha256) {
      throw new BadRequestException(
        'events.jsonl changed while it was being restored; nothing was imported',
      );
    }
    if (inserted > 0) {
      const { userId } = this.changes.scope;
      for (const [appId, app] of touched) {
        await this.bus.publishOnCommit({
          appId,
          userId,
          clientId: IMPORT_CLIENT_ID,
          tables: [...app.tables],
          spaceIds: [...app.spaceIds],
          txId: txId.toString(),
        });
      }
    }
    return inserted;
  }
}

/** Restores follow the same space rule as pushes; the message names the line. */
function assertMayWrite(user: AuthenticatedUser, event: BackupEvent, lineNumber: number): void {
  try {
    assertMayWriteSpaces(user, [event.spaceId]);
  } catch (error) {
    if (error instanceof ForbiddenException) {
      throw new ForbiddenException(
        `events.jsonl line ${lineNumber}: not a member of space "${event.spaceId}"`,
      );
    }
    throw error;
  }
}

/** Waits until `stream` wants more; fails when it errors or closes first (its reader is gone). */
function drained(stream: Writable): Promise<void> {
  // Already destroyed (the reader went away meanwhile): its 'close' has been emitted.
  if (stream.destroyed) {
    return Promise.reject(stream.errored ?? new Error('the archive output closed early'));
  }
  return new Promise((resolve, reject) => {
    const settle = (error?: Error): void => {
      stream.off('drain', onDrain);
      stream.off('error', onError);
      stream.off('close', onClose);
      if (error) reject(error);
      else resolve();
    };
    const onDrain = (): void => settle();
    const onError = (error: Error): void => settle(error);
    const onClose = (): void => settle(new Error('the archive output closed early'));
    stream.on('drain', onDrain);
    stream.on('error', onError);
    stream.on('close', onClose);
  });
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
