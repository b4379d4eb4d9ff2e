import { Injectable } from '@nestjs/common';
import { BinaryCopyParser, CopyFields, int8TextAt, sqlLiteral } from '../store/binary-copy';
import { CHANGE_COLUMNS, CHANGE_SELECT, ChangeRow } from '../store/change-columns';
import type { ChangeOp } from '../common/change-op';
import { ChangeRepository } from '../store/change.repository';
import { LogPosition } from '../store/log-position';
import { TransactionHost } from '../store/transaction-host';

const SELECTED = CHANGE_SELECT;
/** The page's columns, in CHANGE_COLUMNS' order (rowOf reads them by position); the uuid as text. */
const PASSED_ON = CHANGE_COLUMNS.map(([, name]) =>
  name === 'id' ? 'cut.id::text' : `cut."${name}"`,
).join(', ');

/**
 * What a row costs on disk, without reading it: pg_column_size of a toasted
 * value is its stored size, so pages are cut cheaply (a few hundred bytes for
 * the scalar columns). Any of the JSON columns may be NULL (restored or
 * mana-sync rows): a NULL size would drop the row from the page.
 */
const STORED_BYTES = `coalesce(pg_column_size(data), 0) + coalesce(pg_column_size(field_meta), 0)
  + coalesce(pg_column_size(actor), 0) + 200`;

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
   * (tx_id, seq), at most `maxRows` and about `maxBytes`, each handed to `onRow`
   * as it arrives. Each app is an ordered range of the (user_id, app_id, tx_id,
   * seq) index; merged, the statement reads only the rows it returns, wherever
   * the page starts. Only `user_id` decides, not the space policy: a member's
   * export never holds another user's rows. Read by one `COPY (…) TO STDOUT
   * (FORMAT binary)` (one round trip, no cursor); each row is decoded from the
   * bytes as it arrives and dies young, as the caller turns it into its line
   * at once (rows kept until the page's end would double the export's memory).
   */
  async exportPage(q: ExportPageQuery, onRow: (row: ChangeRow) => void): Promise<void> {
    if (q.apps.length === 0) return;
    const { userId } = this.tx.scope;
    const maxRows = sqlLiteral.integer(q.maxRows);
    const branches = q.apps.map(
      (appId) =>
        `SELECT ${SELECTED}, ${STORED_BYTES} AS "storedBytes" FROM sync_changes
           WHERE user_id = ${sqlLiteral.text(userId)} AND app_id = ${sqlLiteral.text(appId)}
             AND (tx_id, seq) > (${sqlLiteral.bigint(q.after.txId)}, ${sqlLiteral.bigint(q.after.seq)})
             AND tx_id < ${sqlLiteral.bigint(q.horizon)}
           ORDER BY tx_id, seq LIMIT ${maxRows}`,
    );
    const merged =
      branches.length === 1
        ? branches[0]
        : `${branches.map((b) => `(${b})`).join(' UNION ALL ')} ORDER BY "txId", seq LIMIT ${maxRows}`;
    // The running sum keeps the first row whatever its size, then stops at the byte budget.
    const sql = `COPY (SELECT ${PASSED_ON} FROM (
         SELECT page.*,
                sum(page."storedBytes") OVER (ORDER BY page."txId", page.seq ROWS UNBOUNDED PRECEDING)
                  AS "runningBytes"
           FROM (${merged}) page
       ) cut
       WHERE cut."runningBytes" - cut."storedBytes" < ${sqlLiteral.integer(q.maxBytes)}
       ORDER BY cut."txId", cut.seq) TO STDOUT (FORMAT binary)`;
    const parser = new BinaryCopyParser(CHANGE_COLUMNS.length, (fields) => onRow(rowOf(fields)));
    // Each payload is decoded before the call returns, so pg's buffer is never kept.
    await this.tx.copyOut(sql, (chunk) => parser.push(chunk));
    parser.finish();
  }
}

/** A row of exportPage's COPY (the columns of PASSED_ON) as pg would have parsed it. */
function rowOf({ buffer, start, length }: CopyFields): ChangeRow {
  const text = (i: number): string => buffer.toString('utf8', start[i], start[i] + length[i]);
  const maybeText = (i: number): string | null => (length[i] === -1 ? null : text(i));
  // jsonb's binary form: a version byte (1), then the text.
  const json = <T>(i: number): T | null => {
    if (length[i] === -1) return null;
    if (buffer[start[i]] !== 1) throw new Error('export: unknown jsonb binary version');
    return JSON.parse(buffer.toString('utf8', start[i] + 1, start[i] + length[i])) as T;
  };
  return {
    id: text(0),
    appId: text(1),
    tableName: text(2),
    recordId: text(3),
    userId: text(4),
    op: text(5) as ChangeOp,
    data: json(6),
    fieldMeta: json(7),
    clientId: text(8),
    createdAt: text(9),
    schemaVersion: buffer.readInt32BE(start[10]),
    spaceId: maybeText(11),
    actor: json(12),
    origin: maybeText(13),
    txId: int8TextAt(buffer, start[14]),
    seq: int8TextAt(buffer, start[15]),
  };
}
