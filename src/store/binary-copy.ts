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

/**
 * The tuple being read: where each field starts in `buffer` and its length (-1: NULL).
 * The same object for every tuple: read it in the callback, keep nothing of it but copies
 * or `buffer.subarray` views.
 */
export interface CopyFields {
  buffer: Buffer;
  start: Int32Array;
  length: Int32Array;
}

/** One tuple's fields as views of the bytes that arrived, or null. */
export type CopyTuple = (Buffer | null)[];

/** A tuple's fields as Buffers (views) or null. */
export function tupleOf({ buffer, start, length }: CopyFields): CopyTuple {
  return Array.from(start, (at, i) =>
    length[i] === -1 ? null : buffer.subarray(at, at + length[i]),
  );
}

/**
 * The tuples of a binary COPY, from its CopyData payloads in order, however they are cut.
 * A tuple's bytes are in `push`'s input (or in a joined copy when it spans chunks), valid
 * only until the callback returns: the driver reuses its buffer, so the bytes of a tuple
 * cut off at a chunk's end are copied to wait for the next. Fields are handed on as
 * offsets, so a reader makes an object only of what it keeps. Stricter than a general reader: every
 * tuple must have `fields` fields and nothing may follow the trailer, so a statement that
 * returns other columns than its reader expects fails instead of being misread.
 */
export class BinaryCopyParser {
  private pending?: Buffer;
  private headerDone = false;
  private ended = false;
  private readonly tuple: CopyFields;

  constructor(
    private readonly fields: number,
    private readonly onTuple: (tuple: CopyFields) => void,
  ) {
    this.tuple = {
      buffer: Buffer.alloc(0),
      start: new Int32Array(fields),
      length: new Int32Array(fields),
    };
  }

  push(chunk: Buffer): void {
    const buffer = this.pending ? Buffer.concat([this.pending, chunk]) : chunk;
    this.pending = undefined;
    let offset = 0;
    if (!this.headerDone) {
      if (buffer.length < HEADER_BYTES) {
        this.pending = Buffer.from(buffer);
        return;
      }
      if (buffer.compare(SIGNATURE, 0, SIGNATURE.length, 0, SIGNATURE.length) !== 0) {
        throw new Error('binary COPY: the stream does not begin with the PGCOPY signature');
      }
      const extension = buffer.readUInt32BE(SIGNATURE.length + 4);
      if (buffer.length < HEADER_BYTES + extension) {
        this.pending = Buffer.from(buffer);
        return;
      }
      offset = HEADER_BYTES + extension;
      this.headerDone = true;
    }
    const tuple = this.tuple;
    tuple.buffer = buffer;
    while (offset < buffer.length) {
      if (this.ended) throw new Error('binary COPY: data after the trailer');
      const end = this.read(buffer, offset);
      if (end === undefined) break;
      // read() marks the trailer as the end, which is no tuple.
      if (!this.ended) this.onTuple(tuple);
      offset = end;
    }
    if (offset < buffer.length) this.pending = Buffer.from(buffer.subarray(offset));
  }

  /** Once the statement has ended: every byte must have been a whole tuple, and the trailer there. */
  finish(): void {
    if (!this.ended || this.pending) {
      throw new Error('binary COPY: the stream ended inside a tuple or without its trailer');
    }
  }

  /**
   * Reads the tuple at `offset` into this.tuple and returns where it ends; at the trailer,
   * marks the end and returns where the trailer ends; undefined when it is not all here.
   */
  private read(buffer: Buffer, offset: number): number | undefined {
    const available = buffer.length;
    if (available - offset < 2) return undefined;
    const count = buffer.readInt16BE(offset);
    if (count === -1) {
      this.ended = true;
      return offset + 2;
    }
    if (count !== this.fields) {
      throw new Error(`binary COPY: a tuple of ${count} fields, expected ${this.fields}`);
    }
    const { start, length } = this.tuple;
    let at = offset + 2;
    for (let i = 0; i < count; i++) {
      if (available - at < 4) return undefined;
      const bytes = buffer.readInt32BE(at);
      if (bytes < -1) throw new Error(`binary COPY: a field of length ${bytes}`);
      at += 4;
      start[i] = at;
      length[i] = bytes;
      if (bytes > 0) at += bytes;
      if (at > available) return undefined;
    }
    return at;
  }
}

/** An int8 field at `at` as decimal text (a number's text below 2^53, no BigInt made). */
export function int8TextAt(buffer: Buffer, at: number): string {
  const high = buffer.readInt32BE(at);
  if (high >= 0 && high < 0x200000)
    return String(high * 0x1_0000_0000 + buffer.readUInt32BE(at + 4));
  return buffer.readBigInt64BE(at).toString();
}

/** An int8 field. */
export function int8Of(field: Buffer): bigint {
  return field.readBigInt64BE(0);
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
