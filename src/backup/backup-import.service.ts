import { Injectable, Logger } from '@nestjs/common';
import { errorMessage } from '../common/error-message';
import { ForbiddenError, InvalidInputError } from '../common/errors/domain-errors';
import { Readable } from 'stream';
import { AuthenticatedUser } from '../auth/authenticated-user';
import { BackupConfig, SyncConfig } from '../config/app-config';
import { ChangeLog } from '../store/change-log';
import { NewChange } from '../store/change.repository';
import { RlsTransactionRunner } from '../store/rls-transaction.runner';
import { ArchiveLimits, ArchiveReader, asArchiveError, LineSplitter } from './archive-reader';
import {
  BackupManifest,
  EVENTS_ENTRY,
  EventsDigest,
  MANIFEST_ENTRY,
  MAX_MANIFEST_BYTES,
  parseEvent,
  readVerifiedEvent,
  parseManifest,
  toRestoredChange,
} from './backup-format';
import { assertMayWrite, importIncomplete } from './import-errors';
import { Batch, BatchCutter } from './restore-batches';
import { withSpooledUpload } from './upload-spool';

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

/** The client id the hints of an import name: no connected client is the writer, so all are told. */
const IMPORT_CLIENT_ID = 'backup-import';

/**
 * The restore of an archive: a verify pass over every byte before anything is written,
 * then the restore pass in short transactions. HTTP and the CLI use the same entry points.
 */
@Injectable()
export class BackupImportService {
  private readonly logger = new Logger('Backup');

  constructor(
    private readonly runner: RlsTransactionRunner,
    private readonly log: ChangeLog,
    private readonly config: BackupConfig,
    private readonly sync: SyncConfig,
  ) {}

  /** An uploaded archive: spooled to a temporary file (never whole in memory), then imported. */
  async importUpload(
    user: AuthenticatedUser,
    upload: Readable,
    declaredBytes?: number,
  ): Promise<ImportResult> {
    return withSpooledUpload(upload, this.config.importMaxBytes, declaredBytes, (path) =>
      this.importFile(user, path, { maxInflateRatio: this.config.importMaxInflateRatio }),
    );
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
      throw new InvalidInputError(
        'The archive has no manifest.json: it is incomplete (its export failed midway) or not a sync backup',
      );
    }
    if (!archive.has(EVENTS_ENTRY)) throw new InvalidInputError('The archive has no events.jsonl');
    return archive.readText(MANIFEST_ENTRY, MAX_MANIFEST_BYTES);
  }

  private readManifest(text: string, user: AuthenticatedUser): BackupManifest {
    const manifest = parseManifest(text);
    if (manifest.userId !== user.userId) {
      throw new ForbiddenError('The archive belongs to another user');
    }
    const max = this.sync.maxSchemaVersion;
    if (manifest.schemaVersionMax !== null && manifest.schemaVersionMax > max) {
      throw new InvalidInputError(
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
      throw new InvalidInputError(
        'events.jsonl does not match the sha256 in manifest.json: the archive is corrupted',
      );
    }
    if (firstProblem) throw firstProblem;
    if (digest.count !== manifest.eventCount) {
      throw new InvalidInputError(
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
        throw new InvalidInputError('events.jsonl changed since it was verified');
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
        throw new InvalidInputError('events.jsonl changed since it was verified');
      }
      return inserted;
    } catch (error) {
      await chunks.return?.();
      if (written === 0) throw error;
      this.logger.error(
        `import for user ${user.userId} stopped after ${written} of ${verified.length} batches (${inserted} events stored): ${errorMessage(error)}`,
      );
      throw importIncomplete(error, manifest.eventCount, inserted);
    }
  }
}
