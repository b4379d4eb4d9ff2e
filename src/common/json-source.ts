/**
 * Where values sit in a JSON text's UTF-8 bytes, so that a large opaque value (a push's
 * record `data`) can go on to PostgreSQL as the bytes it came as instead of being turned
 * back into text by JSON.stringify (issue 20: an 8 MB push made two more 8 MB copies so).
 *
 * This is no parser and no validator: it reads only text that JSON.parse has accepted
 * (the same bytes, decoded), and it finds structure by brackets, quotes and commas. What
 * the values are and whether they are allowed is still decided on JSON.parse's result.
 * On text JSON.parse refuses it still ends (every loop advances) and never throws, but
 * what it returns then means nothing.
 */

/** A value's bytes: [start, end). */
export interface SourceSpan {
  start: number;
  end: number;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const MINUS = 0x2d;
const ZERO = 0x30;
const NINE = 0x39;

const isSpace = (byte: number): boolean =>
  byte === 0x20 || byte === 0x0a || byte === 0x0d || byte === 0x09;

/**
 * The span of each change's `data` in a push body (`{"changes": [{…, "data": {…}}, …]}`),
 * by index into `changes`; undefined for a change without an object as `data`, and for one
 * whose `data` text would not be stored as `JSON.stringify(JSON.parse(text))` is (below).
 * The last of duplicate keys counts, as in JSON.parse. Undefined when the body is not an
 * object with `changes` as an array. A UTF-8 byte order mark in front is skipped (the body
 * parser drops it before JSON.parse).
 *
 * Stored alike: PostgreSQL's jsonb keeps no whitespace, key order, duplicate key or string
 * escape of its input, but keeps a number as written (`1.0` stays `1.0`, digits beyond a
 * double's stay), where JSON.stringify writes JavaScript's spelling of the double. So a
 * `data` whose numbers are not all in that spelling is left to JSON.stringify.
 */
export function changeDataSpans(source: Uint8Array): (SourceSpan | undefined)[] | undefined {
  const scan = new Scanner(source);
  if (source[0] === 0xef && source[1] === 0xbb && source[2] === 0xbf) scan.pos = 3;
  let spans: (SourceSpan | undefined)[] | undefined;
  const found = scan.members((key) => {
    if (!scan.keyIs(key, 'changes')) return false;
    spans = undefined;
    if (scan.peek() !== OPEN_BRACKET) return false;
    spans = scan.changeDataSpans();
    return true;
  });
  return found ? spans : undefined;
}

class Scanner {
  pos = 0;

  constructor(private readonly src: Uint8Array) {}

  peek(): number {
    this.skipSpace();
    return this.src[this.pos];
  }

  /**
   * Reads an object's members from `{` to past `}`; `onKey` gets each key's span with the
   * scanner at its value, and either reads the value (returns true) or leaves it to be
   * skipped. False when no object starts here.
   */
  members(onKey: (key: SourceSpan) => boolean): boolean {
    if (this.peek() !== OPEN_BRACE) return false;
    this.pos++;
    while (this.pos < this.src.length) {
      const next = this.peek();
      if (next === CLOSE_BRACE) {
        this.pos++;
        return true;
      }
      if (next === COMMA) {
        this.pos++;
        continue;
      }
      if (next !== QUOTE) return false;
      const key = { start: this.pos, end: this.skipString(this.pos) };
      this.pos = key.end;
      if (this.peek() !== COLON) return false;
      this.pos++;
      this.skipSpace();
      if (!onKey(key)) this.skipValue();
    }
    return false;
  }

  /** The elements of `changes`, from `[` to past `]`. */
  changeDataSpans(): (SourceSpan | undefined)[] {
    const spans: (SourceSpan | undefined)[] = [];
    this.pos++;
    while (this.pos < this.src.length) {
      const next = this.peek();
      if (next === CLOSE_BRACKET) {
        this.pos++;
        break;
      }
      if (next === COMMA) {
        this.pos++;
        continue;
      }
      let span: SourceSpan | undefined;
      const isObject = this.members((key) => {
        if (!this.keyIs(key, 'data')) return false;
        span = undefined;
        if (this.peek() === OPEN_BRACE) {
          const start = this.pos;
          const storedAlike = this.skipValue();
          if (storedAlike) span = { start, end: this.pos };
        } else {
          this.skipValue();
        }
        return true;
      });
      if (!isObject) {
        span = undefined;
        const before = this.pos;
        this.skipValue();
        if (this.pos === before) this.pos++;
      }
      spans.push(span);
    }
    return spans;
  }

  /** Whether the key at `span` (quotes included) is `name` once decoded. */
  keyIs(span: SourceSpan, name: string): boolean {
    const { src } = this;
    const inner = span.end - span.start - 2;
    let escaped = false;
    for (let i = span.start + 1; i < span.end - 1; i++) {
      if (src[i] === BACKSLASH) {
        escaped = true;
        break;
      }
    }
    if (escaped) {
      try {
        return (
          JSON.parse(
            Buffer.from(src.buffer, src.byteOffset + span.start, span.end - span.start).toString(
              'utf8',
            ),
          ) === name
        );
      } catch {
        return false;
      }
    }
    if (inner !== name.length) return false;
    for (let i = 0; i < inner; i++) {
      if (src[span.start + 1 + i] !== name.charCodeAt(i)) return false;
    }
    return true;
  }

  private skipSpace(): void {
    const { src } = this;
    while (this.pos < src.length && isSpace(src[this.pos])) this.pos++;
  }

  /** Past the closing quote of the string opening at `at` (the input's end if none). */
  private skipString(at: number): number {
    const { src } = this;
    let from = at + 1;
    for (;;) {
      const quote = src.indexOf(QUOTE, from);
      if (quote < 0) return src.length;
      let backslashes = 0;
      while (src[quote - 1 - backslashes] === BACKSLASH) backslashes++;
      if (backslashes % 2 === 0) return quote + 1;
      from = quote + 1;
    }
  }

  /**
   * Past the value here (nested ones included), without recursion. True when every number
   * in it is written as JSON.stringify writes its value.
   */
  private skipValue(): boolean {
    const { src } = this;
    let depth = 0;
    let alike = true;
    do {
      this.skipSpace();
      if (this.pos >= src.length) break;
      const byte = src[this.pos];
      if (byte === QUOTE) {
        this.pos = this.skipString(this.pos);
      } else if (byte === OPEN_BRACE || byte === OPEN_BRACKET) {
        depth++;
        this.pos++;
      } else if (byte === CLOSE_BRACE || byte === CLOSE_BRACKET) {
        depth--;
        this.pos++;
      } else if (byte === COMMA || byte === COLON) {
        this.pos++;
      } else if (byte === MINUS || (byte >= ZERO && byte <= NINE)) {
        const start = this.pos;
        while (this.pos < src.length && isNumberByte(src[this.pos])) this.pos++;
        if (alike && !canonicalNumber(src, start, this.pos)) alike = false;
      } else {
        // true, false, null (or, in text JSON.parse refused, anything else).
        this.pos++;
        while (this.pos < src.length && isLetter(src[this.pos])) this.pos++;
      }
    } while (depth > 0);
    return alike;
  }
}

const isNumberByte = (byte: number): boolean =>
  (byte >= ZERO && byte <= NINE) ||
  byte === 0x2e ||
  byte === 0x65 ||
  byte === 0x45 ||
  byte === 0x2b ||
  byte === MINUS;

const isLetter = (byte: number): boolean => byte >= 0x61 && byte <= 0x7a;

/**
 * Whether the number token src[start, end) is what JSON.stringify writes for its value.
 * Integers of up to 15 digits always are (bar "-0"); the rest are checked by writing them.
 */
export function canonicalNumber(src: Uint8Array, start: number, end: number): boolean {
  let i = start;
  if (src[i] === MINUS) i++;
  const digits = i;
  while (i < end && src[i] >= ZERO && src[i] <= NINE) i++;
  const count = i - digits;
  if (i === end && count > 0 && count <= 15) {
    if (src[digits] !== ZERO) return true;
    return count === 1 && digits === start;
  }
  let text = '';
  for (let k = start; k < end; k++) text += String.fromCharCode(src[k]);
  return JSON.stringify(Number(text)) === text;
}
