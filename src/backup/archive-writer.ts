import { PassThrough, Readable, Writable } from 'stream';
import { pipeline } from 'stream/promises';
import { ZipFile } from 'yazl';
import { ChangeRow } from '../store/change-columns';
import { LogPosition } from '../store/log-position';
import {
  BackupManifest,
  EVENTS_ENTRY,
  EventsDigest,
  MANIFEST_ENTRY,
  toBackupEvent,
} from './backup-format';

/** Characters of events.jsonl per write into the zip. */
const EXPORT_CHUNK_CHARS = 64 * 1024;

/**
 * The zip of an export, sent to `out` while it is written: `events.jsonl`
 * streamed in with the digest kept on the way, the manifest last. Nothing
 * reaches `out` before `start()`; `abort()` cuts the archive off before its
 * manifest, which tells an importer it is incomplete.
 */
export class ArchiveWriter {
  readonly digest = new EventsDigest();
  readonly createdAt = new Date();
  private readonly zip = new ZipFile();
  private readonly events = new PassThrough();
  private readonly output: Readable;
  private readonly zipFailed: Promise<never>;
  private delivered?: Promise<void>;

  constructor(
    private readonly out: Writable,
    private readonly onStart: () => void,
  ) {
    // Its failures are read from `events.destroyed` by write(); without a listener an
    // 'error' emitted while the export waits on the database would be an uncaught exception.
    this.events.on('error', () => undefined);
    this.zip.addReadStream(this.events, EVENTS_ENTRY, { mtime: this.createdAt });
    this.output = this.zip.outputStream as unknown as Readable;
    this.zipFailed = new Promise<never>((_, reject) => this.zip.on('error', reject));
    this.zipFailed.catch(() => undefined);
  }

  /** Starts sending the zip (once; `onStart` runs just before). */
  start(): Promise<void> {
    if (!this.delivered) {
      this.onStart();
      this.delivered = pipeline(this.output, this.out);
      // The reader went away (client disconnect, disk full): stop reading rows.
      this.delivered.catch((error: Error) => this.events.destroy(error));
    }
    return this.delivered;
  }

  /** Lines of events.jsonl, in order; waits while `out` is slow, fails once its reader is gone. */
  async write(chunks: readonly Buffer[]): Promise<void> {
    for (const chunk of chunks) {
      if (this.events.destroyed) {
        throw this.events.errored ?? new Error('the archive output closed early');
      }
      this.digest.update(chunk);
      if (!this.events.write(chunk)) await drained(this.events);
    }
  }

  /** Ends events.jsonl, adds the manifest and resolves once `out` has the whole zip. */
  async finish(manifest: BackupManifest): Promise<void> {
    this.events.end();
    this.zip.addBuffer(Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`), MANIFEST_ENTRY, {
      mtime: this.createdAt,
    });
    this.zip.end();
    await Promise.race([this.start(), this.zipFailed]);
  }

  /** After a failure: no more events, and a started archive is cut off before its manifest. */
  abort(): void {
    this.events.destroy();
    if (this.delivered) {
      // Without an error argument: the streams' pipeline is settled and no longer listens for
      // 'error', so an error here would surface as an uncaught exception. The reader sees the
      // connection cut, and an archive without its manifest.
      this.output.destroy();
      this.out.destroy();
    }
  }
}

/** A page of the export as events.jsonl bytes, and where the next page starts (none: the end). */
export interface ExportPage {
  chunks: Buffer[];
  last?: LogPosition;
}

/**
 * Rows as lines of events.jsonl, in chunks of ~64 KB (one stream write per row
 * would cost more than the row). The digest counts them here; it hashes the
 * bytes when they are written, in order.
 */
export class PageLines {
  private readonly chunks: Buffer[] = [];
  private lines: string[] = [];
  private pending = 0;
  private last?: ChangeRow;

  constructor(private readonly digest: EventsDigest) {}

  add(row: ChangeRow): void {
    const event = toBackupEvent(row);
    const line = `${JSON.stringify(event)}\n`;
    this.digest.add(event);
    this.lines.push(line);
    this.pending += line.length;
    this.last = row;
    if (this.pending >= EXPORT_CHUNK_CHARS) this.flush();
  }

  finish(): ExportPage {
    this.flush();
    const last = this.last;
    return {
      chunks: this.chunks,
      last: last ? { txId: BigInt(last.txId), seq: BigInt(last.seq) } : undefined,
    };
  }

  private flush(): void {
    if (this.pending === 0) return;
    this.chunks.push(Buffer.from(this.lines.join('')));
    this.lines = [];
    this.pending = 0;
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
