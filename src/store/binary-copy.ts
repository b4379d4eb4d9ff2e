import { escapeLiteral } from 'pg';

/**
 * PostgreSQL's binary COPY format (`COPY … TO STDOUT (FORMAT binary)`): a header, then per
 * tuple an int16 field count and each field as an int32 length (-1: NULL) and its bytes,
 * then an int16 -1. A text field is its UTF-8 bytes, a bytea field its raw bytes, an int8
 * eight bytes big-endian: nothing is escaped, so a row's JSON text can be handed on as it
 * arrived.
 */
const SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1');
/** Signature, flags (int32), length of the header extension (int32). */
const HEADER_BYTES = SIGNATURE.length + 8;

/** One tuple's fields: views of the bytes that arrived, or null. */
export type CopyTuple = (Buffer | null)[];

/**
 * The tuples of a binary COPY, from its CopyData payloads in order, however they are cut.
 * The tuples' Buffers are views of `push`'s input (or of a joined copy when a tuple spans
 * chunks): the caller passes chunks it may keep. Stricter than a general reader: every
 * tuple must have `fields` fields and nothing may follow the trailer, so a statement that
 * returns other columns than its reader expects fails instead of being misread.
 */
export class BinaryCopyParser {
  private pending?: Buffer;
  private headerDone = false;
  private ended = false;

  constructor(
    private readonly fields: number,
    private readonly onTuple: (tuple: CopyTuple) => void,
  ) {}

  push(chunk: Buffer): void {
    let buffer = this.pending ? Buffer.concat([this.pending, chunk]) : chunk;
    this.pending = undefined;
    let offset = 0;
    if (!this.headerDone) {
      if (buffer.length < HEADER_BYTES) {
        this.pending = buffer;
        return;
      }
      if (!buffer.subarray(0, SIGNATURE.length).equals(SIGNATURE)) {
        throw new Error('binary COPY: the stream does not begin with the PGCOPY signature');
      }
      const extension = buffer.readUInt32BE(SIGNATURE.length + 4);
      if (buffer.length < HEADER_BYTES + extension) {
        this.pending = buffer;
        return;
      }
      offset = HEADER_BYTES + extension;
      this.headerDone = true;
    }
    while (offset < buffer.length) {
      if (this.ended) throw new Error('binary COPY: data after the trailer');
      const end = this.tupleEnd(buffer, offset);
      if (end === undefined) break;
      if (end === -1) {
        this.ended = true;
        offset += 2;
        continue;
      }
      const tuple: CopyTuple = new Array<Buffer | null>(this.fields);
      let at = offset + 2;
      for (let i = 0; i < this.fields; i++) {
        const length = buffer.readInt32BE(at);
        at += 4;
        tuple[i] = length === -1 ? null : buffer.subarray(at, (at += length));
      }
      offset = end;
      this.onTuple(tuple);
    }
    if (offset < buffer.length) {
      buffer = buffer.subarray(offset);
      this.pending = buffer;
    }
  }

  /** Once the statement has ended: every byte must have been a whole tuple, and the trailer there. */
  finish(): void {
    if (!this.ended || this.pending) {
      throw new Error('binary COPY: the stream ended inside a tuple or without its trailer');
    }
  }

  /** Where the tuple at `offset` ends; -1 for the trailer; undefined when it is not all here. */
  private tupleEnd(buffer: Buffer, offset: number): number | undefined {
    if (buffer.length - offset < 2) return undefined;
    const count = buffer.readInt16BE(offset);
    if (count === -1) return -1;
    if (count !== this.fields) {
      throw new Error(`binary COPY: a tuple of ${count} fields, expected ${this.fields}`);
    }
    let at = offset + 2;
    for (let i = 0; i < count; i++) {
      if (buffer.length - at < 4) return undefined;
      const length = buffer.readInt32BE(at);
      if (length < -1) throw new Error(`binary COPY: a field of length ${length}`);
      at += 4 + Math.max(length, 0);
      if (at > buffer.length) return undefined;
    }
    return at;
  }
}

/** An int8 field. */
export function int8Of(field: Buffer): bigint {
  return field.readBigInt64BE(0);
}

/** An int4 field. */
export function int4Of(field: Buffer): number {
  return field.readInt32BE(0);
}

/**
 * Values spliced into a statement that takes no parameters (COPY). Only the server's own
 * values go in (the token's ids and space ids, a parsed cursor, page sizes, a validated
 * app id; a client's table name and client id as text), each as a literal of its type.
 * Text is pg's escapeLiteral (quotes doubled, an E'' literal with backslashes doubled when
 * it has any), so it reads back as the same string whatever standard_conforming_strings
 * says; NUL, which no PostgreSQL text holds, is refused rather than cut.
 */
export const sqlLiteral = {
  text(value: string): string {
    if (typeof value !== 'string') throw new TypeError('sqlLiteral.text: not a string');
    if (value.includes('\0')) throw new Error('sqlLiteral.text: NUL cannot be in a literal');
    return escapeLiteral(value);
  },
  bigint(value: bigint): string {
    if (typeof value !== 'bigint') throw new TypeError('sqlLiteral.bigint: not a bigint');
    return `${value.toString()}::bigint`;
  },
  integer(value: number): string {
    if (!Number.isSafeInteger(value)) throw new TypeError('sqlLiteral.integer: not an integer');
    return `${value}`;
  },
  textArray(values: readonly string[]): string {
    return `ARRAY[${values.map((v) => sqlLiteral.text(v)).join(', ')}]::text[]`;
  },
};
