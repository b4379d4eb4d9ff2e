import { BadRequestException } from '@nestjs/common';
import type { Readable } from 'stream';
import * as yauzl from 'yauzl';
import { MAX_EVENT_LINE_BYTES } from './backup-format';

/** Our archives hold two entries; a few more (e.g. added by an archiver tool) are tolerated, not thousands. */
const MAX_ENTRIES = 100;

function corrupt(detail: string): BadRequestException {
  return new BadRequestException(
    `The archive is not a readable zip (truncated or corrupted): ${detail}`,
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
  ) {}

  static async open(path: string): Promise<ArchiveReader> {
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
      throw corrupt(error instanceof Error ? error.message : String(error));
    }
    try {
      return new ArchiveReader(zip, await readEntries(zip));
    } catch (error) {
      zip.close();
      throw error;
    }
  }

  has(name: string): boolean {
    return this.entries.has(name);
  }

  /** The uncompressed bytes of an entry, as a stream; inflate or size errors surface as 400. */
  async open(name: string): Promise<Readable> {
    const entry = this.entries.get(name);
    if (!entry) throw new BadRequestException(`The archive has no ${name}`);
    try {
      return await this.zip.openReadStreamPromise(entry);
    } catch (error) {
      throw corrupt(`${name}: ${error instanceof Error ? error.message : error}`);
    }
  }

  /** A small entry read whole; larger than `maxBytes` is refused without reading it. */
  async readText(name: string, maxBytes: number): Promise<string> {
    const entry = this.entries.get(name);
    if (!entry) throw new BadRequestException(`The archive has no ${name}`);
    if (entry.uncompressedSize > maxBytes) {
      throw new BadRequestException(`${name} is larger than ${maxBytes} bytes`);
    }
    const chunks: Buffer[] = [];
    try {
      for await (const chunk of await this.open(name)) chunks.push(chunk as Buffer);
    } catch (error) {
      if (error instanceof BadRequestException) throw error;
      throw corrupt(`${name}: ${error instanceof Error ? error.message : error}`);
    }
    return Buffer.concat(chunks).toString('utf8');
  }

  close(): void {
    this.zip.close();
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

/**
 * The lines of a stream (without their `\n`), each with its raw bytes; the
 * bytes of every chunk go to `onBytes` first, so a hash covers the stream
 * exactly. Reading is pulled by the consumer: memory stays one line at most.
 */
export async function* jsonLines(
  source: Readable,
  onBytes: (chunk: Buffer) => void,
): AsyncGenerator<{ line: string; number: number }> {
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let number = 0;
  try {
    for await (const data of source) {
      const chunk = data as Buffer;
      onBytes(chunk);
      let start = 0;
      let newline: number;
      while ((newline = chunk.indexOf(0x0a, start)) >= 0) {
        const piece = chunk.subarray(start, newline);
        const line = pending.length ? Buffer.concat([...pending, piece]) : piece;
        pending = [];
        pendingBytes = 0;
        start = newline + 1;
        number++;
        yield { line: line.toString('utf8'), number };
      }
      if (start < chunk.length) {
        pending.push(chunk.subarray(start));
        pendingBytes += chunk.length - start;
        if (pendingBytes > MAX_EVENT_LINE_BYTES) {
          throw new BadRequestException(
            `events.jsonl line ${number + 1} is longer than ${MAX_EVENT_LINE_BYTES} bytes`,
          );
        }
      }
    }
  } catch (error) {
    if (error instanceof BadRequestException) throw error;
    throw corrupt(`events.jsonl: ${error instanceof Error ? error.message : error}`);
  }
  if (pendingBytes > 0) {
    number++;
    yield { line: Buffer.concat(pending).toString('utf8'), number };
  }
}
