import { Injectable } from '@nestjs/common';
import type { Readable } from 'stream';
import QueryStream from 'pg-query-stream';
import type { PoolClient } from 'pg';
import type { PostgresQueryRunner } from 'typeorm/driver/postgres/PostgresQueryRunner';
import { ChangeOp } from './change-op';
import { LogPosition } from './log-position';
import { RlsScope, TransactionHost } from './transaction-host';
import { endOnFailedCursor } from './driver-internals';
import type { JsonItem } from '../common/json-text';
import { SyncConfig } from '../config/app-config';
import type { HorizonMode } from '../config/env.dto';

/** A change ready to be appended; `userId` comes from the transaction's scope, never from here. */
export interface NewChange {
  /** Client-generated id; when absent the database generates one. */
  id?: string;
  appId: string;
  tableName: string;
  recordId: string;
  spaceId: string | null;
  op: ChangeOp;
  data: Record<string, unknown> | null;
  fieldMeta: Record<string, string>;
  clientId: string;
  schemaVersion: number;
  actor: unknown;
  origin: string | null;
  /** Only for restores: keeps the original time. */
  createdAt?: string;
}

export interface ChangeRow {
  id: string;
  appId: string;
  tableName: string;
  recordId: string;
  userId: string;
  op: ChangeOp;
  data: Record<string, unknown> | null;
  fieldMeta: Record<string, string> | null;
  clientId: string;
  /** ISO-8601 UTC with microseconds, exactly as stored. */
  createdAt: string;
  schemaVersion: number;
  spaceId: string | null;
  actor: unknown;
  origin: string | null;
  /** Cursor position of the row (bigints as decimal strings). */
  txId: string;
  seq: string;
}

export interface InsertedBatch {
  inserted: number;
  /** The op of each row inserted (rows skipped as existing ids are not in it). */
  ops: ChangeOp[];
  txId: bigint;
  /**
   * The horizon, read by the same statement: a page read in a later statement of the
   * transaction uses it (ChangesSinceQuery.horizon) instead of reading its own.
   */
  horizon: bigint;
}

export interface ChangesSinceQuery {
  appId: string;
  /** One collection, or every table of the app when undefined. */
  tableName?: string;
  after: LogPosition;
  /** Legacy plain-time `since`: additionally only rows created after it. */
  createdAfter?: string;
  /** Echo suppression: the asking client's own changes are left out. */
  excludeClientId?: string;
  limit: number;
  /**
   * The page also ends once its rows hold this many bytes of record data (at least
   * one row is returned): then `truncated` is true.
   */
  maxBytes?: number;
  /**
   * The horizon, read by a statement of this transaction sent before (insertBatch,
   * readHorizon), which also left it in the transaction's READ_HORIZON setting for the page
   * statement; else the read sends one itself, in the same round trip.
   */
  horizon?: Promise<bigint>;
}

/** A row of a page: the change as clients receive it, already JSON text, and its position. */
export interface WireRow {
  /** The wire change (WIRE_CHANGE_SQL), never parsed in JavaScript; a large one as UTF-8 pieces. */
  wire: JsonItem;
  txId: string;
  seq: string;
}

/** A wire change longer than this many bytes is read as pieces of this size (see piecesOf). */
export const WIRE_PIECE_BYTES = 64 * 1024;
/** A row without payload_bytes stored in more than this is read in pieces (see piecesOf). */
const STORED_WHOLE_BYTES = 2048;

export interface ChangesPage {
  rows: WireRow[];
  /** The byte budget ended the page before `limit` rows or the horizon: more rows follow. */
  truncated: boolean;
  /**
   * Oldest transaction still running when the page was read: every row with a
   * smaller tx_id is committed (or never will be), so nothing can appear behind it.
   */
  horizon: bigint;
}

/** created_at as the API writes times: ISO-8601 UTC with microseconds. */
const CREATED_AT_SQL = `to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;

const COLUMNS = `id, app_id AS "appId", table_name AS "tableName", record_id AS "recordId",
  user_id AS "userId", op, data, field_meta AS "fieldMeta", client_id AS "clientId",
  ${CREATED_AT_SQL} AS "createdAt", schema_version AS "schemaVersion", space_id AS "spaceId",
  actor, origin, tx_id AS "txId", seq`;

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
const WIRE_COLUMNS = `id, schema_version, table_name, record_id, op, data, field_meta, created_at,
  space_id, actor, origin, tx_id AS "txId", seq`;

/**
 * The oldest transaction of this database that may still add rows: the smallest
 * xid still running here (sessions and prepared transactions), bounded by the
 * next xid to be assigned. It must be read in an earlier statement than the rows
 * it bounds (READ COMMITTED: the rows statement gets a newer snapshot, which sees
 * every transaction below it as finished). Other databases on the server cannot
 * write here, so their long transactions do not hold the horizon back.
 */
export const HORIZON_SQL = `WITH fresh AS MATERIALIZED (SELECT pg_stat_clear_snapshot()),
            next AS MATERIALIZED (
              SELECT (pg_snapshot_xmax(pg_current_snapshot())::text)::bigint AS xid FROM fresh)
       SELECT least(
                next.xid,
                (SELECT min((a.backend_xid::text)::bigint) FROM pg_stat_activity a
                  WHERE a.datname = current_database() AND a.backend_xid IS NOT NULL
                    AND next.xid IS NOT NULL),
                (SELECT min((p.transaction::text)::bigint) FROM pg_prepared_xacts p
                  WHERE p.database = current_database() AND next.xid IS NOT NULL)
              )::text AS horizon
         FROM next`;

/**
 * A transaction-local setting that carries the horizon from the statement that read it to
 * the page statement behind it: both leave in one pipelined write, so the page cannot take
 * it as a parameter. A page without it fails (an unset setting is no number), never reads
 * unbounded.
 */
const READ_HORIZON = 'app.read_horizon';

/**
 * Reads the horizon and keeps it in READ_HORIZON for the statements behind it. `scope`: the
 * horizon of the transaction's RLS scope (migration ScopeClaims, docs/cursor.md); `global`:
 * HORIZON_SQL.
 */
const READ_HORIZON_SQL: Record<HorizonMode, string> = {
  scope: `SELECT set_config('${READ_HORIZON}', sync_scope_horizon()::text, true) AS horizon`,
  global: `SELECT set_config('${READ_HORIZON}', h.horizon, true) AS horizon
  FROM (${HORIZON_SQL}) h`,
};

/**
 * One push's write: the rows ($2, one JSON array) and the horizon (kept in READ_HORIZON),
 * in one statement. Prepared once per connection: its text is the same for every push.
 * No NOTIFY: PostgreSQL serialises notifying commits, WAL flush included, under one lock
 * for the whole server. Hints leave after COMMIT (ChangeLog).
 */
const insertBatchSql = (mode: HorizonMode): string => `WITH ins AS (
         INSERT INTO sync_changes
           (id, app_id, table_name, record_id, user_id, space_id, op, data, field_meta,
            client_id, schema_version, actor, origin, created_at, payload_bytes)
         SELECT coalesce(r.id, gen_random_uuid()), r.app_id, r.table_name, r.record_id, $1,
                r.space_id, r.op, r.data, coalesce(r.field_meta, '{}'), r.client_id,
                r.schema_version, r.actor, r.origin, coalesce(r.created_at, now()),
                -- Sizes of the values as parsed, before TOAST compresses them.
                coalesce(pg_column_size(r.data), 0) + coalesce(pg_column_size(r.field_meta), 0)
                  + coalesce(pg_column_size(r.actor), 0)
           FROM jsonb_to_recordset($2::jsonb) AS r(
                id uuid, app_id text, table_name text, record_id text, space_id text, op text,
                data jsonb, field_meta jsonb, client_id text, schema_version int, actor jsonb,
                origin text, created_at timestamptz)
         ON CONFLICT (id) DO NOTHING
         RETURNING tx_id, op),
       stored AS (SELECT min(tx_id) AS tx_id, array_agg(op) AS ops FROM ins)
       SELECT stored.tx_id::text AS "txId", stored.ops, (${READ_HORIZON_SQL[mode]}) AS horizon
         FROM stored`;
const INSERT_BATCH_SQL: Record<HorizonMode, string> = {
  scope: insertBatchSql('scope'),
  global: insertBatchSql('global'),
};

/** The SQL of the change log. Runs only inside the caller's RLS transaction. */
@Injectable()
export class ChangeRepository {
  private readonly mode: HorizonMode;

  constructor(
    private readonly tx: TransactionHost,
    config: SyncConfig,
  ) {
    this.mode = config.horizon;
  }

  /** Who the current transaction acts for. */
  get scope(): RlsScope {
    return this.tx.scope;
  }

  /**
   * Appends a whole batch in one statement (one JSON parameter, so no limit on
   * the number of rows and one plan). Rows whose client-generated id exists
   * already are skipped. The same statement reads the horizon for the page that
   * follows it. Returns the ops of the rows inserted, the writing transaction's
   * id (the position readers must pass to see them) and the horizon. The
   * statement is sent at once: one issued right after it shares its round trip.
   */
  async insertBatch(changes: readonly NewChange[]): Promise<InsertedBatch> {
    const { userId } = this.tx.scope;
    const rows = changes.map((c) => ({
      id: c.id ?? null,
      app_id: c.appId,
      table_name: c.tableName,
      record_id: c.recordId,
      space_id: c.spaceId,
      op: c.op,
      data: c.data,
      field_meta: c.fieldMeta,
      client_id: c.clientId,
      schema_version: c.schemaVersion,
      actor: c.actor ?? null,
      origin: c.origin,
      created_at: c.createdAt ?? null,
    }));
    const [result] = await this.tx.query<{
      txId: string | null;
      ops: ChangeOp[] | null;
      horizon: string;
    }>(
      INSERT_BATCH_SQL[this.mode],
      [userId, JSON.stringify(rows)],
      `sync_insert_batch_${this.mode}`,
    );
    const ops = result.ops ?? [];
    return {
      inserted: ops.length,
      ops,
      txId: result.txId === null ? 0n : BigInt(result.txId),
      horizon: BigInt(result.horizon),
    };
  }

  /**
   * Committed changes after a position, oldest first, for the scope's user and
   * spaces. Only rows below the horizon are returned, so a slower transaction
   * that commits later can never land behind a position already handed out.
   */
  async changesSince(q: ChangesSinceQuery): Promise<ChangesPage> {
    const { userId, spaceIds } = this.tx.scope;
    // Sent now, so that the page statement below goes out right behind it.
    const horizon = q.horizon ?? this.readHorizon();
    const params: unknown[] = [userId, q.appId, q.after.txId.toString(), q.after.seq.toString()];
    const param = (value: unknown): string => `$${params.push(value)}`;
    const filters = [
      'app_id = $2',
      '(tx_id, seq) > ($3::bigint, $4::bigint)',
      `tx_id < current_setting('${READ_HORIZON}')::bigint`,
    ];
    if (q.tableName !== undefined) filters.push(`table_name = ${param(q.tableName)}`);
    if (q.createdAfter !== undefined) {
      filters.push(`created_at > ${param(q.createdAfter)}::timestamptz`);
    }
    if (q.excludeClientId !== undefined) filters.push(`client_id <> ${param(q.excludeClientId)}`);
    const limit = param(q.limit);
    // Rows stored before payload_bytes existed count with their stored size (a NULL
    // column counts 0: a NULL size would drop the row from the running sum's page).
    const branch = (owner: string): string =>
      `SELECT ${WIRE_COLUMNS}, payload_bytes,
              coalesce(payload_bytes, coalesce(pg_column_size(data), 0)
                + coalesce(pg_column_size(field_meta), 0)
                + coalesce(pg_column_size(actor), 0)) AS bytes
         FROM sync_changes
        WHERE ${owner} AND ${filters.join(' AND ')}
        ORDER BY tx_id, seq LIMIT ${limit}`;
    // Own rows and co-members' space rows are two ordered index ranges; merged, each read
    // stops after LIMIT rows (an OR in one WHERE would read and sort all of them).
    const page =
      spaceIds.length === 0
        ? branch('user_id = $1')
        : `SELECT * FROM (
             (${branch('user_id = $1')})
             UNION ALL
             (${branch(`space_id = ANY(${param(spaceIds)}::text[]) AND user_id <> $1`)})
           ) page ORDER BY "txId", seq LIMIT ${limit}`;
    // One text per combination of the optional filters: a prepared statement of each,
    // planned once per connection (planning the page took about 4 times its execution).
    const name = `sync_page_${[
      q.tableName,
      q.createdAfter,
      q.excludeClientId,
      spaceIds.length > 0 || undefined,
      q.maxBytes,
    ]
      .map((option) => (option === undefined ? 0 : 1))
      .join('')}`;
    // The wire text is built last, for the rows returned only.
    if (q.maxBytes === undefined) {
      const [h, rows] = await Promise.all([
        horizon,
        this.tx.query<WirePieceRow>(
          piecesOf(`SELECT * FROM (${page}) page ORDER BY "txId", seq`),
          params,
          name,
        ),
      ]);
      return { rows: assemblePieces(rows), horizon: h, truncated: false };
    }
    // The running sum needs only the sizes: the rows past the budget are never detoasted.
    const sized = `SELECT * FROM (
        SELECT page.*, sum(bytes) OVER (ORDER BY "txId", seq) - bytes AS "bytesBefore",
               count(*) OVER () AS "pageRows"
          FROM (${page}) page) sized
      WHERE "bytesBefore" < ${param(q.maxBytes)}
      ORDER BY "txId", seq`;
    const [h, pieces] = await Promise.all([
      horizon,
      this.tx.query<WirePieceRow>(piecesOf(sized, ', r."pageRows"'), params, name),
    ]);
    const rows = assemblePieces(pieces);
    const truncated = rows.length > 0 && rows.length < Number(pieces[0].pageRows);
    return { rows, horizon: h, truncated };
  }

  /**
   * The horizon (HORIZON_SQL), also kept in the transaction for the page statements
   * behind it. The statement is sent at once.
   */
  async readHorizon(): Promise<bigint> {
    const [row] = await this.tx.query<{ horizon: string }>(
      READ_HORIZON_SQL[this.mode],
      [],
      `sync_read_horizon_${this.mode}`,
    );
    return BigInt(row.horizon);
  }

  /**
   * Every change of the scope's user, oldest first, as a stream read through a
   * server-side cursor: memory stays flat whatever the row count.
   */
  async streamAllForUser(batchSize = 1000): Promise<Readable> {
    const { userId } = this.tx.scope;
    const queryRunner = this.tx.manager.queryRunner as PostgresQueryRunner;
    const client = (await queryRunner.connect()) as PoolClient;
    const stream = new QueryStream(
      `SELECT ${COLUMNS} FROM sync_changes WHERE user_id = $1 ORDER BY tx_id, seq`,
      [userId],
      { batchSize },
    );
    return client.query(endOnFailedCursor(stream));
  }
}

/** A row of piecesOf: a whole wire text, or one piece of a long one. */
interface WirePieceRow {
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
 * The wire text of each of `rows` (ordered by "txId", seq); a long one cut into pieces of
 * WIRE_PIECE_BYTES, one result row each. node-postgres receives a row as one message and
 * decodes it into one string: a 6 MB text costs a receive buffer doubled up to 8 MB and a
 * 6 MB string, which V8 keeps until a full collection; at pages of such rows the service
 * peaked at 320-360 MB. Pieces are bytea, so they arrive as Buffers that are written as
 * they are (as text they would be strings in V8's heap again: measured 303-334 MB against
 * 222-245 MB; docs/performance.md). Rows whose payload_bytes are small, most rows, are
 * not cut, nor rows without it stored in 2 KB or less. A long text is built once (OFFSET 0
 * keeps the planner from copying the expression into every piece), and no sort follows,
 * so the pieces are never held together in PostgreSQL.
 */
function piecesOf(rows: string, extra = ''): string {
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

/**
 * Rows of piecesOf back into one WireRow per change, a change's pieces told apart by its
 * primary key. The order of pieces within a change is not the statement's (it orders by
 * position only, so that no sort holds the pieces): each goes to its number.
 */
function assemblePieces(rows: readonly WirePieceRow[]): WireRow[] {
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
