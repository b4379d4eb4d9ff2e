import { Injectable } from '@nestjs/common';
import type { Readable } from 'stream';
import QueryStream from 'pg-query-stream';
import type { PoolClient } from 'pg';
import type { PostgresQueryRunner } from 'typeorm/driver/postgres/PostgresQueryRunner';
import { ChangeOp } from './sync-change.entity';
import { RlsScope, TransactionHost } from './transaction-host';

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
}

/** A point in the change log: every row at or before it (in (tx_id, seq) order) is behind the reader. */
export interface LogPosition {
  txId: bigint;
  seq: bigint;
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
}

export interface ChangesPage {
  rows: ChangeRow[];
  /**
   * Oldest transaction still running when the page was read: every row with a
   * smaller tx_id is committed (or never will be), so nothing can appear behind it.
   */
  horizon: bigint;
}

const COLUMNS = `id, app_id AS "appId", table_name AS "tableName", record_id AS "recordId",
  user_id AS "userId", op, data, field_meta AS "fieldMeta", client_id AS "clientId",
  to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS "createdAt", schema_version AS "schemaVersion", space_id AS "spaceId",
  actor, origin, tx_id AS "txId", seq`;

/** The SQL of the change log. Runs only inside the caller's RLS transaction. */
@Injectable()
export class ChangeRepository {
  constructor(private readonly tx: TransactionHost) {}

  /** Who the current transaction acts for. */
  get scope(): RlsScope {
    return this.tx.scope;
  }

  /**
   * Appends a whole batch in one statement (one JSON parameter, so no limit on
   * the number of rows and one plan). Rows whose client-generated id exists
   * already are skipped. Returns the ops of the rows inserted and the writing
   * transaction's id (the position readers must pass to see them).
   */
  async insertBatch(changes: readonly NewChange[]): Promise<InsertedBatch> {
    if (changes.length === 0) return { inserted: 0, ops: [], txId: 0n };
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
    const result = (await this.tx.manager.query(
      `INSERT INTO sync_changes
         (id, app_id, table_name, record_id, user_id, space_id, op, data, field_meta,
          client_id, schema_version, actor, origin, created_at)
       SELECT coalesce(r.id, gen_random_uuid()), r.app_id, r.table_name, r.record_id, $1, r.space_id,
              r.op, r.data, coalesce(r.field_meta, '{}'), r.client_id, r.schema_version, r.actor,
              r.origin, coalesce(r.created_at, now())
         FROM jsonb_to_recordset($2::jsonb) AS r(
              id uuid, app_id text, table_name text, record_id text, space_id text, op text,
              data jsonb, field_meta jsonb, client_id text, schema_version int, actor jsonb,
              origin text, created_at timestamptz)
       ON CONFLICT (id) DO NOTHING
       RETURNING tx_id AS "txId", op`,
      [userId, JSON.stringify(rows)],
    )) as { txId: string; op: ChangeOp }[];
    return {
      inserted: result.length,
      ops: result.map((r) => r.op),
      txId: result.length ? BigInt(result[0].txId) : 0n,
    };
  }

  /**
   * Committed changes after a position, oldest first, for the scope's user and
   * spaces. Only rows below the horizon are returned, so a slower transaction
   * that commits later can never land behind a position already handed out.
   */
  async changesSince(q: ChangesSinceQuery): Promise<ChangesPage> {
    const { userId, spaceIds } = this.tx.scope;
    const horizon = await this.horizon();
    const params: unknown[] = [userId, q.appId, q.after.txId.toString(), q.after.seq.toString()];
    const param = (value: unknown): string => `$${params.push(value)}`;
    const filters = [
      'app_id = $2',
      '(tx_id, seq) > ($3::bigint, $4::bigint)',
      `tx_id < ${param(horizon.toString())}::bigint`,
    ];
    if (q.tableName !== undefined) filters.push(`table_name = ${param(q.tableName)}`);
    if (q.createdAfter !== undefined) {
      filters.push(`created_at > ${param(q.createdAfter)}::timestamptz`);
    }
    if (q.excludeClientId !== undefined) filters.push(`client_id <> ${param(q.excludeClientId)}`);
    const limit = param(q.limit);
    const branch = (owner: string): string =>
      `SELECT ${COLUMNS} FROM sync_changes
        WHERE ${owner} AND ${filters.join(' AND ')}
        ORDER BY tx_id, seq LIMIT ${limit}`;
    // Own rows and co-members' space rows are two ordered index ranges; merged, each read
    // stops after LIMIT rows (an OR in one WHERE would read and sort all of them).
    const sql =
      spaceIds.length === 0
        ? branch('user_id = $1')
        : `SELECT * FROM (
             (${branch('user_id = $1')})
             UNION ALL
             (${branch(`space_id = ANY(${param(spaceIds)}::text[]) AND user_id <> $1`)})
           ) page ORDER BY "txId", seq LIMIT ${limit}`;
    const rows = (await this.tx.manager.query(sql, params)) as ChangeRow[];
    return { rows, horizon };
  }

  /**
   * The oldest transaction of this database that may still add rows: the
   * smallest xid still running here (sessions and prepared transactions),
   * bounded by the next xid to be assigned. Read in its own statement so the
   * rows query that follows (READ COMMITTED: a newer snapshot) sees every
   * transaction below it as finished. Other databases on the server cannot
   * write here, so their long transactions do not hold the horizon back.
   */
  async horizon(): Promise<bigint> {
    const [row] = (await this.tx.manager.query(
      `WITH fresh AS MATERIALIZED (SELECT pg_stat_clear_snapshot()),
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
         FROM next`,
    )) as { horizon: string }[];
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
    // pg-cursor's close() never calls back on a connection the server dropped (node-postgres
    // #2588), so the stream would never emit its error and its reader would wait forever. A
    // cursor that failed has nothing left to close: end the stream with the error at once.
    const closeCursor = stream._destroy.bind(stream);
    stream._destroy = (error: Error, callback: (error?: Error | null) => void) =>
      stream.cursor.state === 'error' ? callback(error) : closeCursor(error, callback);
    return client.query(stream);
  }
}
