import { Injectable } from '@nestjs/common';
import type { PoolClient } from 'pg';
import QueryStream from 'pg-query-stream';
import { Readable } from 'stream';
import type { PostgresQueryRunner } from 'typeorm/driver/postgres/PostgresQueryRunner';
import { CHANGE_COLUMNS, CHANGE_SELECT } from '../store/change-columns';
import { ChangeRepository } from '../store/change.repository';
import { LogPosition } from '../store/log-position';
import { TransactionHost } from '../store/transaction-host';
import { endOnFailedCursor } from '../store/driver-internals';

const SELECTED = CHANGE_SELECT;
const PASSED_ON = CHANGE_COLUMNS.map(([, name]) => `cut."${name}"`).join(', ');

/**
 * What a row costs on disk, without reading it: pg_column_size of a toasted
 * value is its stored size, so pages are cut cheaply (a few hundred bytes for
 * the scalar columns). Any of the JSON columns may be NULL (restored or
 * mana-sync rows): a NULL size would drop the row from the page.
 */
const STORED_BYTES = `coalesce(pg_column_size(data), 0) + coalesce(pg_column_size(field_meta), 0)
  + coalesce(pg_column_size(actor), 0) + 200`;

/** Rows per round trip of a page's cursor. */
const CURSOR_BATCH_ROWS = 500;

export interface ExportStart {
  /** Rows below it are final: the export reads up to it and no further (docs/cursor.md). */
  horizon: bigint;
  /** The apps among the user's rows, each an ordered index range of the export. */
  apps: string[];
}

export interface ExportPageQuery {
  apps: readonly string[];
  after: LogPosition;
  horizon: bigint;
  maxRows: number;
  /** Stored bytes per page; a page always holds at least one row. */
  maxBytes: number;
}

/** The SQL of the export. Runs only inside the caller's RLS transaction, for the scope's user. */
@Injectable()
export class BackupRepository {
  constructor(
    private readonly tx: TransactionHost,
    private readonly changes: ChangeRepository,
  ) {}

  /**
   * The horizon first, then (a newer snapshot) the apps: every app with a row
   * below the horizon is visible by then. One index probe per app.
   */
  async exportStart(): Promise<ExportStart> {
    const horizon = await this.changes.readHorizon();
    const rows = (await this.tx.manager.query(
      `WITH RECURSIVE apps(app_id) AS (
         SELECT min(app_id) FROM sync_changes WHERE user_id = $1
         UNION ALL
         SELECT (SELECT min(app_id) FROM sync_changes WHERE user_id = $1 AND app_id > apps.app_id)
           FROM apps WHERE apps.app_id IS NOT NULL)
       SELECT app_id AS "appId" FROM apps WHERE app_id IS NOT NULL`,
      [this.tx.scope.userId],
    )) as { appId: string }[];
    return { horizon, apps: rows.map((r) => r.appId) };
  }

  /**
   * The user's own rows after `after` and below the horizon, in log order
   * (tx_id, seq), at most `maxRows` and about `maxBytes`. Each app is an
   * ordered range of the (user_id, app_id, tx_id, seq) index; merged, the
   * statement reads only the rows it returns, wherever the page starts. Only
   * `user_id` decides, not the space policy: a member's export never holds
   * another user's rows. The rows (ChangeRow objects) come as a stream read
   * through a cursor in batches: as one result, every row of a page would stay
   * alive until the last one arrived, most of them past the young generation,
   * and the export's memory would double.
   */
  async exportPage(q: ExportPageQuery): Promise<Readable> {
    if (q.apps.length === 0) return Readable.from([]);
    const params: unknown[] = [
      this.tx.scope.userId,
      q.after.txId.toString(),
      q.after.seq.toString(),
      q.horizon.toString(),
      q.maxRows,
      q.maxBytes,
    ];
    const branches = q.apps.map(
      (appId) =>
        `SELECT ${SELECTED}, ${STORED_BYTES} AS "storedBytes" FROM sync_changes
           WHERE user_id = $1 AND app_id = $${params.push(appId)}
             AND (tx_id, seq) > ($2::bigint, $3::bigint) AND tx_id < $4::bigint
           ORDER BY tx_id, seq LIMIT $5`,
    );
    const merged =
      branches.length === 1
        ? branches[0]
        : `${branches.map((b) => `(${b})`).join(' UNION ALL ')} ORDER BY "txId", seq LIMIT $5`;
    // The running sum keeps the first row whatever its size, then stops at the byte budget.
    const sql = `SELECT ${PASSED_ON} FROM (
         SELECT page.*,
                sum(page."storedBytes") OVER (ORDER BY page."txId", page.seq ROWS UNBOUNDED PRECEDING)
                  AS "runningBytes"
           FROM (${merged}) page
       ) cut
       WHERE cut."runningBytes" - cut."storedBytes" < $6
       ORDER BY cut."txId", cut.seq`;
    const queryRunner = this.tx.manager.queryRunner as PostgresQueryRunner;
    const client = (await queryRunner.connect()) as PoolClient;
    const stream = new QueryStream(sql, params, { batchSize: CURSOR_BATCH_ROWS });
    return client.query(endOnFailedCursor(stream));
  }
}
