import { StreamableFile } from '@nestjs/common';
import { Readable } from 'stream';

/** Small texts are joined into chunks of about this many bytes; a larger one goes alone. */
const CHUNK_BYTES = 64 * 1024;

/** A text that is JSON already: a string, its UTF-8 bytes, or a long one as UTF-8 pieces. */
export type JsonItem = string | Buffer | readonly Buffer[];

/** The size of an item in UTF-8 bytes. */
function byteLengthOf(item: JsonItem): number {
  if (typeof item === 'string') return Buffer.byteLength(item);
  if (Buffer.isBuffer(item)) return item.length;
  let bytes = 0;
  for (const piece of item) bytes += piece.length;
  return bytes;
}

/** An item as one string: only for small documents (or storing one). */
export function textOf(item: JsonItem): string {
  if (typeof item === 'string') return item;
  return (Buffer.isBuffer(item) ? item : Buffer.concat(item)).toString('utf8');
}

/**
 * A JSON document assembled from texts that are JSON already: `prefix`, the items joined
 * by commas, `suffix`. It is written chunk by chunk, so a large document is never copied
 * into one string (and the items are never parsed).
 */
export class JsonText {
  constructor(
    readonly prefix: string,
    readonly items: readonly JsonItem[],
    readonly suffix: string,
  ) {}

  /** The same items between other texts (e.g. an SSE frame around the data). */
  framed(before: string, after: string): JsonText {
    return new JsonText(before + this.prefix, this.items, this.suffix + after);
  }

  /** Its size in UTF-8 bytes. */
  get byteLength(): number {
    let bytes = Buffer.byteLength(this.prefix) + Buffer.byteLength(this.suffix);
    for (const item of this.items) bytes += byteLengthOf(item);
    return bytes + Math.max(this.items.length - 1, 0);
  }

  /**
   * Small items joined into chunks of about `size` characters or bytes: strings into a
   * string, bytes into a Buffer (one copy of them); pieces and large items go alone.
   */
  *chunks(size = CHUNK_BYTES): Generator<string | Buffer> {
    let pending = this.prefix;
    let parts: Buffer[] = [];
    let partBytes = 0;
    const flushParts = (): Buffer => {
      const chunk = parts.length === 1 ? parts[0] : Buffer.concat(parts, partBytes);
      parts = [];
      partBytes = 0;
      return chunk;
    };
    for (let i = 0; i < this.items.length; i++) {
      const item = this.items[i];
      const separator = i === 0 ? '' : ',';
      if (typeof item === 'string') {
        if (partBytes > 0) yield flushParts();
        if (item.length >= size) {
          yield pending + separator;
          pending = '';
          yield item;
          continue;
        }
        pending += separator + item;
        if (pending.length >= size) {
          yield pending;
          pending = '';
        }
        continue;
      }
      if (pending !== '' || separator !== '') {
        parts.push(Buffer.from(pending + separator));
        partBytes += parts[parts.length - 1].length;
        pending = '';
      }
      // A run of several changes is long enough to go as it is: joining would copy it again.
      if (!Buffer.isBuffer(item) || item.length >= size / 4) {
        if (partBytes > 0) yield flushParts();
        if (Buffer.isBuffer(item)) yield item;
        else yield* item as readonly Buffer[];
        continue;
      }
      parts.push(item);
      partBytes += item.length;
      if (partBytes >= size) yield flushParts();
    }
    if (partBytes > 0) yield flushParts();
    yield pending + this.suffix;
  }

  /** The whole document as one string: only for small documents (or storing one). */
  toString(): string {
    return this.prefix + this.items.map(textOf).join(',') + this.suffix;
  }

  /** As an HTTP answer: Nest pipes the chunks into the response, with backpressure. */
  toStreamableFile(): StreamableFile {
    return new StreamableFile(Readable.from(this.chunks()), {
      type: 'application/json; charset=utf-8',
      length: this.byteLength,
    });
  }
}
