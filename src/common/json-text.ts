import { StreamableFile } from '@nestjs/common';
import { Readable } from 'stream';

/** Small texts are joined into chunks of about this many characters; a larger one goes alone. */
const CHUNK_CHARS = 64 * 1024;

/** A text that is JSON already: a string, or a long one in pieces. */
export type JsonItem = string | readonly Buffer[];

/** The size of an item in UTF-8 bytes. */
function byteLengthOf(item: JsonItem): number {
  if (typeof item === 'string') return Buffer.byteLength(item);
  let bytes = 0;
  for (const piece of item) bytes += piece.length;
  return bytes;
}

/** An item as one string: only for small documents (or storing one). */
export function textOf(item: JsonItem): string {
  return typeof item === 'string' ? item : Buffer.concat(item).toString('utf8');
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

  /** Small items joined into chunks of about `size` characters; pieces and large items go alone. */
  *chunks(size = CHUNK_CHARS): Generator<string | Buffer> {
    let pending = this.prefix;
    for (let i = 0; i < this.items.length; i++) {
      const item = this.items[i];
      const separator = i === 0 ? '' : ',';
      if (typeof item !== 'string') {
        yield pending + separator;
        pending = '';
        yield* item;
        continue;
      }
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
    }
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
