import { Client, ClientBase } from 'pg';
import { RLS_SCOPE_SQL } from '../../src/store/rls-transaction.runner';
import { APP_ID, insertChange } from './records';

/** The statement the service runs first in every user transaction (RlsTransactionRunner). */
export const SET_CONFIG_SQL = RLS_SCOPE_SQL;

/** A row as the service stores an insert of the wire change (NewChange, user from the scope). */
export interface RawRow {
  app_id: string;
  table_name: string;
  record_id: string;
  user_id: string;
  space_id: string | null;
  op: string;
  data: Record<string, unknown>;
  field_meta: Record<string, string>;
  client_id: string;
  schema_version: number;
  actor: string | null;
  origin: string | null;
}

export function rawRows(userId: string, clientId: string, count: number): RawRow[] {
  return Array.from({ length: count }, () => {
    const change = insertChange();
    return {
      app_id: APP_ID,
      table_name: change.table,
      record_id: change.id,
      user_id: userId,
      space_id: null,
      op: change.op,
      data: change.data,
      field_meta: {},
      client_id: clientId,
      schema_version: 1,
      actor: null,
      origin: null,
    };
  });
}

const COLUMNS = [
  'app_id',
  'table_name',
  'record_id',
  'user_id',
  'space_id',
  'op',
  'data',
  'field_meta',
  'client_id',
  'schema_version',
  'actor',
  'origin',
] as const;

/** A column's value as a statement parameter (pg sends objects as JSON too; made explicit here). */
function param(row: RawRow, column: (typeof COLUMNS)[number]): unknown {
  const value = row[column];
  return column === 'data' || column === 'field_meta' ? JSON.stringify(value) : value;
}

export async function connect(url: string): Promise<Client> {
  const client = new Client({ connectionString: url, application_name: 'sync-bench' });
  await client.connect();
  return client;
}

export async function connectMany(url: string, count: number): Promise<Client[]> {
  return Promise.all(Array.from({ length: count }, () => connect(url)));
}

export async function endAll(clients: Client[]): Promise<void> {
  await Promise.all(clients.map((c) => c.end().catch(() => undefined)));
}

/** BEGIN; the service's set_config statement; fn; COMMIT (ROLLBACK on failure). */
export async function userTransaction<T>(
  client: ClientBase,
  role: string,
  userId: string,
  fn: () => Promise<T>,
): Promise<T> {
  await client.query('BEGIN');
  try {
    await client.query(SET_CONFIG_SQL, [role, userId, '']);
    const result = await fn();
    await client.query('COMMIT');
    return result;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
}

/** Ceiling (a): one multi-row INSERT ... VALUES per batch. */
export async function insertValues(client: Client, rows: RawRow[]): Promise<void> {
  const params: unknown[] = [];
  const tuples = rows.map((row) => {
    const slots = COLUMNS.map((column) => `$${params.push(param(row, column))}`);
    return `(${slots.join(', ')})`;
  });
  await client.query(
    `INSERT INTO sync_changes (${COLUMNS.join(', ')}) VALUES ${tuples.join(', ')}`,
    params,
  );
}

/** Ceiling (b): one INSERT ... SELECT FROM jsonb_to_recordset($1) per batch (one parameter). */
export async function insertRecordset(client: Client, rows: RawRow[]): Promise<void> {
  const json = JSON.stringify(rows);
  await client.query(
    `INSERT INTO sync_changes (${COLUMNS.join(', ')})
     SELECT ${COLUMNS.map((c) => `r.${c}`).join(', ')}
       FROM jsonb_to_recordset($1::jsonb) AS r(
            app_id text, table_name text, record_id text, user_id text, space_id text, op text,
            data jsonb, field_meta jsonb, client_id text, schema_version int, actor jsonb,
            origin text)`,
    [json],
  );
}

/** The Go server's statement (store-postgres.go RecordChange): one INSERT per change. */
export const GO_INSERT_SQL = `INSERT INTO sync_changes (${COLUMNS.join(', ')})
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`;

/** One row the Go server's way: its own INSERT statement. */
export async function insertGoStyle(client: ClientBase, row: RawRow): Promise<void> {
  await client.query(
    GO_INSERT_SQL,
    COLUMNS.map((column) => param(row, column)),
  );
}

export async function insertOneByOne(client: Client, rows: RawRow[]): Promise<void> {
  for (const row of rows) await insertGoStyle(client, row);
}
