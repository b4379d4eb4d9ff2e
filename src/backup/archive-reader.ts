import { BadRequestException, HttpException, PayloadTooLargeException } from '@nestjs/common';
import { Readable, Transform } from 'stream';
import * as yauzl from 'yauzl';
import { MAX_EVENT_LINE_BYTES } from './backup-format';
import { errorMessage } from '../common/error-message';

/** Our archives hold two entries; a few more (e.g. added by an archiver tool) are tolerated, not thousands. */
const MAX_ENTRIES = 100;

/**
 * Below this an entry may inflate as much as it likes: a small archive of a
 * few repetitive events can compress far better than a large one.
 */
const INFLATE_ALLOWANCE_BYTES = 1024 * 1024;

export interface ArchiveLimits {
  /**
   * An entry may inflate to at most this many times its compressed size (plus
   * a small allowance): a zip bomb is refused from its declared size, or as
   * soon as its inflated bytes pass the bound, instead of being read whole.
   */
  maxInflateRatio?: number;
}

function corrupt(detail: string): BadRequestException {
  return new BadRequestException(
    `The archive is not a readable zip (truncated or corrupted): ${detail}`,
  );
}

function tooLarge(name: string, bytes: number): PayloadTooLargeException {
  return new PayloadTooLargeException(
    `${name} inflates to more than ${bytes} bytes, beyond BACKUP_IMPORT_MAX_INFLATE_RATIO times its compressed size: not a backup this server restores`,
  );
}

/**
 * A zip on disk, read through its central directory (which is at the end: a
 * truncated upload has none and is refused before any entry is read).
 */
export class ArchiveReader {
  private constructor(
    private readonly zip: yauzl.ZipFile,
    private readonly entries: Map<string, yauzl.Entry>,
    private readonly limits: ArchiveLimits,
  ) {}

  static async open(path: string, limits: ArchiveLimits = {}): Promise<ArchiveReader> {
    let zip: yauzl.ZipFile;
    try {
      zip = await new Promise<yauzl.ZipFile>((resolve, reject) =>
        yauzl.open(
          path,
          { lazyEntries: true, autoClose: false, strictFileNames: true, validateEntrySizes: true },
          (error, file) => (error ? reject(error) : resolve(file)),
        ),
      );
    } catch (error) {
      throw corrupt(errorMessage(error));
    }
    try {
      return new ArchiveReader(zip, await readEntries(zip), limits);
    } catch (error) {
      zip.close();
      throw error;
    }
  }

  has(name: string): boolean {
    return this.entries.has(name);
  }

  /**
   * The uncompressed bytes of an entry, as a stream; inflate or size errors
   * surface as 400, inflating past the entry's bound (declared or actual) as 413.
   */
  async open(name: string, maxBytes?: number): Promise<Readable> {
    const entry = this.entries.get(name);
    if (!entry) throw new BadRequestException(`The archive has no ${name}`);
    const limit = this.inflateLimit(entry, maxBytes);
    if (entry.uncompressedSize > limit.bytes) throw limit.error();
    let stream: Readable;
    try {
      stream = await this.zip.openReadStreamPromise(entry);
    } catch (error) {
      throw corrupt(`${name}: ${errorMessage(error)}`);
    }
    // yauzl already refuses more bytes than declared; counted here too, so the bound holds
    // whatever the header says.
    let inflated = 0;
    const counter = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        inflated += chunk.length;
        done(inflated > limit.bytes ? limit.error() : null, chunk);
      },
    });
    stream.on('error', (error) => counter.destroy(error));
    counter.on('close', () => stream.destroy());
    return stream.pipe(counter);
  }

  /** A small entry read whole; larger than `maxBytes` is refused without reading it. */
  async readText(name: string, maxBytes: number): Promise<string> {
    const chunks: Buffer[] = [];
    try {
      for await (const chunk of await this.open(name, maxBytes)) chunks.push(chunk as Buffer);
    } catch (error) {
      if (error instanceof HttpException) throw error;
      throw corrupt(`${name}: ${errorMessage(error)}`);
    }
    return Buffer.concat(chunks).toString('utf8');
  }

  close(): void {
    this.zip.close();
  }

  private inflateLimit(
    entry: yauzl.Entry,
    maxBytes: number | undefined,
  ): { bytes: number; error: () => HttpException } {
    if (maxBytes !== undefined) {
      return {
        bytes: maxBytes,
        error: () => new BadRequestException(`${entry.fileName} is larger than ${maxBytes} bytes`),
      };
    }
    const ratio = this.limits.maxInflateRatio;
    if (!ratio)
      return { bytes: Number.POSITIVE_INFINITY, error: () => tooLarge(entry.fileName, 0) };
    const bytes = Math.max(INFLATE_ALLOWANCE_BYTES, ratio * entry.compressedSize);
    return { bytes, error: () => tooLarge(entry.fileName, bytes) };
  }
}

function readEntries(zip: yauzl.ZipFile): Promise<Map<string, yauzl.Entry>> {
  if (zip.entryCount > MAX_ENTRIES) {
    return Promise.reject(
      new BadRequestException(`The archive has ${zip.entryCount} entries; a backup has 2`),
    );
  }
  return new Promise((resolve, reject) => {
    const entries = new Map<string, yauzl.Entry>();
    zip.on('entry', (entry: yauzl.Entry) => {
      if (entries.has(entry.fileName)) {
        reject(new BadRequestException(`The archive holds ${entry.fileName} twice`));
        return;
      }
      entries.set(entry.fileName, entry);
      zip.readEntry();
    });
    zip.on('end', () => resolve(entries));
    zip.on('error', (error: Error) => reject(corrupt(error.message)));
    zip.readEntry();
  });
}

/** Read errors of events.jsonl as answers: our own 400/413 as they are, anything else as damage. */
export function asArchiveError(error: unknown): HttpException {
  if (error instanceof HttpException) return error;
  return corrupt(`events.jsonl: ${errorMessage(error)}`);
}

/**
 * Splits bytes into lines (without their `\n`), chunk by chunk, synchronously:
 * no promise per line, so even millions of tiny lines cost little, and a
 * caller can stop splitting at the first bad line while it still hashes the
 * rest. Memory stays one line at most.
 */
export class LineSplitter {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  /** Lines handed out so far (the next one is `lines + 1`). */
  lines = 0;

  push(chunk: Buffer, onLine: (line: Buffer, number: number) => void): void {
    let start = 0;
    let newline: number;
    while ((newline = chunk.indexOf(0x0a, start)) >= 0) {
      const piece = chunk.subarray(start, newline);
      const line = this.pending.length ? Buffer.concat([...this.pending, piece]) : piece;
      this.pending = [];
      this.pendingBytes = 0;
      start = newline + 1;
      onLine(line, ++this.lines);
    }
    if (start < chunk.length) {
      this.pending.push(chunk.subarray(start));
      this.pendingBytes += chunk.length - start;
      if (this.pendingBytes > MAX_EVENT_LINE_BYTES) {
        throw new BadRequestException(
          `events.jsonl line ${this.lines + 1} is longer than ${MAX_EVENT_LINE_BYTES} bytes`,
        );
      }
    }
  }

  /** The last line, when the bytes do not end in `\n`. */
  end(onLine: (line: Buffer, number: number) => void): void {
    if (this.pendingBytes === 0) return;
    const line = Buffer.concat(this.pending);
    this.pending = [];
    this.pendingBytes = 0;
    onLine(line, ++this.lines);
  }
}
