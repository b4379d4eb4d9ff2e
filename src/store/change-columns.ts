import { ChangeOp } from '../common/change-op';

/** A stored change with every column, as the change log's readers (export, tests) see it. */
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

/** A timestamptz column as the API writes times: ISO-8601 UTC with microseconds. */
export function isoTimeSql(column: string): string {
  return `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;
}

/** created_at as the API writes times. */
export const CREATED_AT_SQL = isoTimeSql('created_at');

/** The columns of sync_changes as ChangeRow names them, in ChangeRow's order. */
export const CHANGE_COLUMNS: readonly [sql: string, name: keyof ChangeRow][] = [
  ['id', 'id'],
  ['app_id', 'appId'],
  ['table_name', 'tableName'],
  ['record_id', 'recordId'],
  ['user_id', 'userId'],
  ['op', 'op'],
  ['data', 'data'],
  ['field_meta', 'fieldMeta'],
  ['client_id', 'clientId'],
  [CREATED_AT_SQL, 'createdAt'],
  ['schema_version', 'schemaVersion'],
  ['space_id', 'spaceId'],
  ['actor', 'actor'],
  ['origin', 'origin'],
  ['tx_id', 'txId'],
  ['seq', 'seq'],
];

/** CHANGE_COLUMNS as a select list: `id, app_id AS "appId", …`. */
export const CHANGE_SELECT = CHANGE_COLUMNS.map(([sql, name]) =>
  sql === name ? sql : `${sql} AS "${name}"`,
).join(', ');
