import type { JsonItem } from '../common/json-text';
import { BinaryCopyParser, CopyFields, int8TextAt } from './binary-copy';
import { CREATED_AT_SQL } from './change-columns';

/** A row of a page: the change as clients receive it, already JSON text, and its position. */
export interface WireRow {
  /**
   * The wire change (WIRE_CHANGE_SQL), never parsed in JavaScript: its UTF-8 bytes (read by
   * COPY), a string (read by a prepared statement), or a long one as UTF-8 pieces.
   */
  wire: JsonItem;
  txId: string;
  seq: string;
}

/** A wire change longer than this many bytes is read as pieces of this size (see piecesOf). */
export const WIRE_PIECE_BYTES = 64 * 1024;
/** A row without payload_bytes stored in more than this is read in pieces (see piecesOf). */
const STORED_WHOLE_BYTES = 2048;

/**
 * A row as clients receive it (the protocol's server→client projection), built as JSON
 * text by PostgreSQL so that JavaScript neither parses the record nor stringifies it
 * again. Keys in the protocol's order; `spaceId`, `actor` (also a JSON null) and `origin`
 * only when set. insert → `data` (none: `{}`); update → `fields` rebuilt from data and
 * field_meta as `{value, at}`, `at` being the row's created_at where field_meta has no
 * time; delete → `deletedAt` when data holds one as a string (else a hard delete).
 * Record values are jsonb's own text. test/integration/wire-projection.spec.ts holds it
 * equal to the reference projection in JavaScript.
 */
export const WIRE_CHANGE_SQL = `'{"eventId":' || to_json(id::text)::text
  || ',"schemaVersion":' || schema_version::text
  || ',"table":' || to_json(table_name)::text
  || ',"id":' || to_json(record_id)::text
  || ',"op":' || to_json(op)::text
  || CASE op
       WHEN 'insert' THEN ',"data":' || coalesce(nullif(data, 'null'::jsonb), '{}'::jsonb)::text
       WHEN 'update' THEN ',"fields":' || coalesce(
         (SELECT '{' || string_agg(to_json(f.key)::text || ':{"value":' || f.value::text
                   || ',"at":' || coalesce(nullif(field_meta -> f.key, 'null'::jsonb)::text,
                                           to_json(${CREATED_AT_SQL})::text)
                   || '}', ',') || '}'
            FROM jsonb_each(CASE WHEN jsonb_typeof(data) = 'object' THEN data END) f),
         '{}')
       ELSE CASE WHEN jsonb_typeof(data -> 'deletedAt') = 'string'
                 THEN ',"deletedAt":' || (data -> 'deletedAt')::text ELSE '' END
     END
  || coalesce(',"spaceId":' || to_json(space_id)::text, '')
  || CASE WHEN actor IS NULL OR actor = 'null'::jsonb THEN '' ELSE ',"actor":' || actor::text END
  || coalesce(',"origin":' || to_json(origin)::text, '')
  || '}'`;

/** The columns WIRE_CHANGE_SQL reads, and the position. */
export const WIRE_COLUMNS = `id, schema_version, table_name, record_id, op, data, field_meta, created_at,
  space_id, actor, origin, tx_id AS "txId", seq`;

/**
 * The wire text of each of `rows` (ordered by "txId", seq); a long one cut into pieces of
 * WIRE_PIECE_BYTES, one result row each. node-postgres receives a row as one message and
 * decodes it into one string: a 6 MB text costs a receive buffer doubled up to 8 MB and a
 * 6 MB string, which V8 keeps until a full collection; at pages of such rows the service
 * peaked at 320-360 MB. Pieces are bytea, so they arrive as Buffers that are written as
 * they are (as text they would be strings in V8's heap again: measured 303-334 MB against
 * 222-245 MB; docs/performance.md). Rows whose payload_bytes are small, most rows, are
 * not cut, nor rows without it stored in 2 KB or less. A long text is built once (OFFSET 0
 * keeps the planner from copying the expression into every piece), and no sort follows,
 * so the pieces are never held together in PostgreSQL. The columns: wire, piece,
 * "pieceNo", "pieceOf", "txId", seq, then `extra`.
 */
export function piecesOf(rows: string, extra = ''): string {
  // A row without payload_bytes has only its stored size, maybe compressed (lz4 shrinks
  // 6 MB of repetitive JSON to 23 KB): past a stored 2 KB, where PostgreSQL starts to
  // compress, it is cut too. A row read whole is then at most a few hundred KB of text.
  const small = `coalesce(r.payload_bytes <= ${WIRE_PIECE_BYTES}, r.bytes <= ${STORED_WHOLE_BYTES})`;
  return `SELECT CASE WHEN ${small} THEN ${WIRE_CHANGE_SQL} END AS wire,
                 p.bytes AS piece, p.n AS "pieceNo", CASE WHEN NOT ${small} THEN r.id END AS "pieceOf",
                 r."txId", r.seq${extra}
    FROM (${rows}) r
    LEFT JOIN LATERAL (
      SELECT n, substring(b.bytes FROM n * ${WIRE_PIECE_BYTES} + 1 FOR ${WIRE_PIECE_BYTES}) AS bytes
        FROM (SELECT convert_to(${WIRE_CHANGE_SQL}, 'UTF8') AS bytes WHERE NOT ${small} OFFSET 0) b,
             generate_series(0, (octet_length(b.bytes) - 1) / ${WIRE_PIECE_BYTES}) n) p ON true
    ORDER BY r."txId", r.seq`;
}

/** A row of piecesOf read by a prepared statement: a whole wire text, or one piece of a long one. */
export interface WirePieceRow {
  wire: string | null;
  piece: Buffer | null;
  pieceNo: number | null;
  /** The change's id (its primary key), on piece rows. */
  pieceOf: string | null;
  txId: string;
  seq: string;
  pageRows?: string;
}

/**
 * Rows of piecesOf back into one WireRow per change, a change's pieces told apart by its
 * primary key. The order of pieces within a change is not the statement's (it orders by
 * position only, so that no sort holds the pieces): each goes to its number.
 */
export function assemblePieces(rows: readonly WirePieceRow[]): WireRow[] {
  const out: WireRow[] = [];
  let pieces: Buffer[] | undefined;
  let last: WirePieceRow | undefined;
  for (const row of rows) {
    if (row.piece === null) {
      out.push({ wire: row.wire!, txId: row.txId, seq: row.seq });
      pieces = undefined;
    } else {
      if (pieces === undefined || last!.pieceOf !== row.pieceOf) {
        pieces = [];
        out.push({ wire: pieces, txId: row.txId, seq: row.seq });
      }
      pieces[row.pieceNo!] = row.piece;
    }
    last = row;
  }
  return out;
}

/** Rows read by COPY are copied into slabs of this size (a longer row gets one of its own). */
const SLAB_BYTES = 64 * 1024;
const COMMA = 0x2c;

/** Wire texts of consecutive rows, joined by commas, in one slab. */
interface Run {
  slab: Buffer;
  start: number;
  end: number;
}

/** A row of a COPY page: its position, and where its wire text is (a run's bytes, or pieces). */
class CopyRow implements WireRow {
  constructor(
    readonly txId: string,
    readonly seq: string,
    private readonly item: Run | Buffer[],
    private readonly start: number,
    readonly end: number,
    readonly itemIndex: number,
  ) {}

  get wire(): JsonItem {
    return Array.isArray(this.item) ? this.item : this.item.slab.subarray(this.start, this.end);
  }
}

/**
 * The rows of piecesOf read by `COPY (…) TO STDOUT (FORMAT binary)`, as they arrive: each
 * wire text is copied once, from the driver's buffer into a slab, right behind the row
 * before it and a comma. So a page's changes are a few runs of bytes that go to the socket
 * as they are (`wireOf`): no string, no row object, no second copy. Pieces of a long row
 * are copied out and put in order as assemblePieces does. Holds the page and nothing else.
 */
export class WireCopyReader {
  readonly rows: CopyRow[] = [];
  /** The page's rows before the byte budget (the `"pageRows"` column), when it was read. */
  pageRows?: number;
  private readonly parser: BinaryCopyParser;
  /** Runs and pieced rows, in the page's order. */
  private readonly items: (Run | Buffer[])[] = [];
  private run?: Run;
  private slab = Buffer.alloc(0);
  private used = 0;
  private pieces?: Buffer[];
  private pieceOf?: Buffer;

  constructor(private readonly withPageRows: boolean) {
    this.parser = new BinaryCopyParser(withPageRows ? 7 : 6, (tuple) => this.add(tuple));
  }

  /** For TransactionHost.copyOut: each row is copied out of pg's buffer before this returns. */
  readonly onData = (chunk: Buffer): void => this.parser.push(chunk);

  finish(): CopyRow[] {
    this.parser.finish();
    return this.rows;
  }

  /** The wire texts of the first `count` rows, as JSON items to join by commas. */
  wireOf(count: number): JsonItem[] {
    if (count === 0) return [];
    const last = this.rows[count - 1];
    const items: JsonItem[] = this.items
      .slice(0, last.itemIndex)
      .map((item) => (Array.isArray(item) ? item : item.slab.subarray(item.start, item.end)));
    const item = this.items[last.itemIndex];
    items.push(Array.isArray(item) ? item : item.slab.subarray(item.start, last.end));
    return items;
  }

  private add({ buffer, start, length }: CopyFields): void {
    // Columns: wire, piece, "pieceNo", "pieceOf", "txId", seq, "pageRows".
    const txId = int8TextAt(buffer, start[4]);
    const seq = int8TextAt(buffer, start[5]);
    if (this.withPageRows && this.pageRows === undefined) {
      this.pageRows = Number(int8TextAt(buffer, start[6]));
    }
    if (length[1] === -1) {
      this.pieces = undefined;
      const bytes = length[0];
      if (this.run && this.slab.length - this.used > bytes) {
        this.slab[this.used++] = COMMA;
      } else {
        if (this.slab.length - this.used < bytes) {
          this.slab = Buffer.allocUnsafe(Math.max(SLAB_BYTES, bytes));
          this.used = 0;
        }
        this.run = { slab: this.slab, start: this.used, end: this.used };
        this.items.push(this.run);
      }
      const from = this.used;
      this.used += buffer.copy(this.slab, from, start[0], start[0] + bytes);
      this.run.end = this.used;
      this.rows.push(new CopyRow(txId, seq, this.run, from, this.used, this.items.length - 1));
      return;
    }
    // A long row's pieces go between runs: the next short row starts a new run.
    this.run = undefined;
    const pieceOf = buffer.subarray(start[3], start[3] + length[3]);
    if (this.pieces === undefined || !this.pieceOf!.equals(pieceOf)) {
      this.pieces = [];
      this.pieceOf = Buffer.from(pieceOf);
      this.items.push(this.pieces);
      this.rows.push(new CopyRow(txId, seq, this.pieces, 0, 0, this.items.length - 1));
    }
    this.pieces[buffer.readInt32BE(start[2])] = Buffer.from(
      buffer.subarray(start[1], start[1] + length[1]),
    );
  }
}
