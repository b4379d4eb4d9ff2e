import { Injectable } from '@nestjs/common';
import type { JsonItem } from '../common/json-text';
import { sqlLiteral } from './binary-copy';
import { ChangeOp } from '../common/change-op';
import { LogPosition } from './log-position';
import { TextPieces } from './driver-internals';
import { RlsScope, TransactionHost } from './transaction-host';
import {
  assemblePieces,
  piecesOf,
  WIRE_COLUMNS,
  WireCopyReader,
  WirePieceRow,
  WireRow,
} from './wire-projection';
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
  /**
   * `data` as the UTF-8 JSON text it came as, when storing that text stores the same
   * (sync/data-text.ts): sent instead of JSON.stringify(data).
   */
  dataText?: Buffer;
  fieldMeta: Record<string, string>;
  clientId: string;
  schemaVersion: number;
  actor: unknown;
  origin: string | null;
  /** Only for restores: keeps the original time. */
  createdAt?: string;
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
  /**
   * Read by `COPY (…) TO STDOUT (FORMAT binary)`: each wire change arrives as the bytes
   * PostgreSQL sent, never a string or a row object (WireCopyReader). A COPY is planned
   * each time (it cannot be prepared): for large pages (a catch-up), where the rows cost
   * far more than a plan. Otherwise a prepared statement, planned once per connection: for
   * small pages (a push's answer), where planning would cost more than the rows.
   */
  copy?: boolean;
}

export interface ChangesPage {
  rows: WireRow[];
  /**
   * The wire changes of the first `count` rows as JSON items to join by commas: one per
   * row, or (read by COPY) runs of rows already joined, handed on as the bytes they are.
   */
  wire(count: number): JsonItem[];
  /** The byte budget ended the page before `limit` rows or the horizon: more rows follow. */
  truncated: boolean;
  /**
   * Oldest transaction still running when the page was read: every row with a
   * smaller tx_id is committed (or never will be), so nothing can appear behind it.
   */
  horizon: bigint;
}

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

/** A change as a row of insertBatchSql's recordset (`data` undefined: without it). */
function rowOf(c: NewChange, data: Record<string, unknown> | null | undefined): object {
  return {
    id: c.id ?? null,
    app_id: c.appId,
    table_name: c.tableName,
    record_id: c.recordId,
    space_id: c.spaceId,
    op: c.op,
    data,
    field_meta: c.fieldMeta,
    client_id: c.clientId,
    schema_version: c.schemaVersion,
    actor: c.actor ?? null,
    origin: c.origin,
    created_at: c.createdAt ?? null,
  };
}

/**
 * insertBatchSql's $2: the rows as one JSON array. A row whose `data` came as text keeps it:
 * the parameter is then pieces of bytes, that text's among them as it is, written to the
 * socket as they are (TextPieces), where JSON.stringify and the driver's Bind message would
 * each have made a copy of it.
 */
function rowsParam(changes: readonly NewChange[]): string | TextPieces {
  if (!changes.some((c) => c.dataText)) {
    return JSON.stringify(changes.map((c) => rowOf(c, c.data)));
  }
  const pieces: Buffer[] = [];
  let text = '[';
  changes.forEach((c, i) => {
    if (i > 0) text += ',';
    if (c.dataText) {
      pieces.push(Buffer.from(`${text}{"data":`), c.dataText);
      text = `,${JSON.stringify(rowOf(c, undefined)).slice(1)}`;
    } else {
      text += JSON.stringify(rowOf(c, c.data));
    }
  });
  pieces.push(Buffer.from(`${text}]`));
  return new TextPieces(pieces);
}

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
    const [result] = await this.tx.query<{
      txId: string | null;
      ops: ChangeOp[] | null;
      horizon: string;
    }>(INSERT_BATCH_SQL[this.mode], [userId, rowsParam(changes)], `sync_insert_batch_${this.mode}`);
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
    // Bound parameters for a prepared statement; literals for a COPY, which takes none.
    const params: unknown[] = [];
    const param = (value: unknown, literal: () => string): string =>
      q.copy ? literal() : `$${params.push(value)}`;
    const user = param(userId, () => sqlLiteral.text(userId));
    const filters = [
      `app_id = ${param(q.appId, () => sqlLiteral.text(q.appId))}`,
      `(tx_id, seq) > (${param(q.after.txId.toString(), () => sqlLiteral.bigint(q.after.txId))}::bigint, ${param(q.after.seq.toString(), () => sqlLiteral.bigint(q.after.seq))}::bigint)`,
      `tx_id < current_setting('${READ_HORIZON}')::bigint`,
    ];
    const { tableName, createdAfter, excludeClientId, maxBytes } = q;
    if (tableName !== undefined) {
      filters.push(`table_name = ${param(tableName, () => sqlLiteral.text(tableName))}`);
    }
    if (createdAfter !== undefined) {
      filters.push(
        `created_at > ${param(createdAfter, () => sqlLiteral.text(createdAfter))}::timestamptz`,
      );
    }
    if (excludeClientId !== undefined) {
      filters.push(
        `client_id <> ${param(excludeClientId, () => sqlLiteral.text(excludeClientId))}`,
      );
    }
    const limit = param(q.limit, () => sqlLiteral.integer(q.limit));
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
        ? branch(`user_id = ${user}`)
        : `SELECT * FROM (
             (${branch(`user_id = ${user}`)})
             UNION ALL
             (${branch(`space_id = ANY(${param(spaceIds, () => sqlLiteral.textArray(spaceIds))}::text[]) AND user_id <> ${user}`)})
           ) page ORDER BY "txId", seq LIMIT ${limit}`;
    // The running sum needs only the sizes: the rows past the budget are never detoasted.
    // The wire text is built last, for the rows returned only.
    const sql =
      maxBytes === undefined
        ? piecesOf(`SELECT * FROM (${page}) page ORDER BY "txId", seq`)
        : piecesOf(
            `SELECT * FROM (
               SELECT page.*, sum(bytes) OVER (ORDER BY "txId", seq) - bytes AS "bytesBefore",
                      count(*) OVER () AS "pageRows"
                 FROM (${page}) page) sized
             WHERE "bytesBefore" < ${param(maxBytes, () => sqlLiteral.integer(maxBytes))}
             ORDER BY "txId", seq`,
            ', r."pageRows"',
          );
    let rows: WireRow[];
    let wire: ChangesPage['wire'];
    let pageRows: number | undefined;
    let h: bigint;
    if (q.copy) {
      const reader = new WireCopyReader(maxBytes !== undefined);
      [h] = await Promise.all([
        horizon,
        this.tx.copyOut(`COPY (${sql}) TO STDOUT (FORMAT binary)`, reader.onData),
      ]);
      rows = reader.finish();
      wire = (count) => reader.wireOf(count);
      pageRows = reader.pageRows;
    } else {
      // One text per combination of the optional filters: a prepared statement of each,
      // planned once per connection (planning the page took about 4 times its execution).
      const name = `sync_page_${[
        tableName,
        createdAfter,
        excludeClientId,
        spaceIds.length > 0 || undefined,
        maxBytes,
      ]
        .map((option) => (option === undefined ? 0 : 1))
        .join('')}`;
      let pieces: WirePieceRow[];
      [h, pieces] = await Promise.all([horizon, this.tx.query<WirePieceRow>(sql, params, name)]);
      const assembled = assemblePieces(pieces);
      rows = assembled;
      wire = (count) => assembled.slice(0, count).map((row) => row.wire);
      if (pieces.length > 0 && pieces[0].pageRows !== undefined) {
        pageRows = Number(pieces[0].pageRows);
      }
    }
    const truncated = pageRows !== undefined && rows.length > 0 && rows.length < pageRows;
    return { rows, wire, horizon: h, truncated };
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
}
