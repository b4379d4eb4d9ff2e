import type { ClientBase } from 'pg';
import QueryStream from 'pg-query-stream';
import type { Readable } from 'stream';
import { CHANGE_SELECT } from '../../src/store/change-columns';
import { ChangeRepository } from '../../src/store/change.repository';
import type { TransactionHost } from '../../src/store/transaction-host';
import type { SyncConfig } from '../../src/config/app-config';
import type { HorizonMode } from '../../src/config/env.dto';

type Query = (sql: string, params?: unknown[], name?: string) => Promise<unknown[]>;

/**
 * The service's own ChangeRepository (so exactly its SQL) on a plain `pg`
 * connection: no Nest, no TypeORM, no HTTP. The caller has opened the user
 * transaction (raw.userTransaction) on `client`. `wrap` may stand between the
 * repository and the connection (to EXPLAIN a statement). `horizon`: the service's mode
 * (SYNC_HORIZON) unless told another.
 */
export function rawRepository(
  client: ClientBase,
  userId: string,
  wrap?: (query: Query) => Query,
  horizon: HorizonMode = process.env.SYNC_HORIZON === 'global' ? 'global' : 'scope',
): ChangeRepository {
  // Named statements are prepared once per connection, as the service's are.
  const query: Query = async (sql, params, name) =>
    (await client.query({ text: sql, values: params, name })).rows;
  const wrapped = wrap ? wrap(query) : query;
  const host = {
    scope: { userId, spaceIds: [] },
    query: wrapped,
    manager: {
      query: wrapped,
      queryRunner: { connect: async () => client },
    },
  };
  const config = { horizon };
  return new ChangeRepository(host as unknown as TransactionHost, config as SyncConfig);
}

/**
 * Every change of `userId`, oldest first, through a server-side cursor in batches: the
 * export's raw reference (the rows a plain client reads, decoded by pg). The caller has
 * opened the user transaction on `client`.
 */
export function streamAllForUser(client: ClientBase, userId: string, batchSize = 1000): Readable {
  return client.query(
    new QueryStream(
      `SELECT ${CHANGE_SELECT} FROM sync_changes WHERE user_id = $1 ORDER BY tx_id, seq`,
      [userId],
      { batchSize },
    ),
  );
}

interface PlanNode {
  'Node Type': string;
  'Actual Rows'?: number;
  'Index Name'?: string;
  Plans?: PlanNode[];
}

export interface PlanSummary {
  /** Node types from the top, e.g. "Limit → Sort → Bitmap Heap Scan". */
  shape: string;
  /** Rows the deepest scan produced (what the statement read to return its page). */
  rowsScanned: number;
  executionMs: number;
}

/** The plan of a page statement as PostgreSQL ran it (EXPLAIN ANALYZE, in the caller's transaction). */
export async function explainPage(
  client: ClientBase,
  sql: string,
  params: unknown[] | undefined,
): Promise<PlanSummary> {
  const { rows } = await client.query(`EXPLAIN (ANALYZE, FORMAT JSON) ${sql}`, params);
  const [{ Plan: plan, 'Execution Time': executionMs }] = rows[0]['QUERY PLAN'] as {
    Plan: PlanNode;
    'Execution Time': number;
  }[];
  const shape: string[] = [];
  let node: PlanNode | undefined = plan;
  let rowsScanned = 0;
  while (node) {
    shape.push(
      node['Index Name'] ? `${node['Node Type']} (${node['Index Name']})` : node['Node Type'],
    );
    if (!node.Plans?.length) rowsScanned = node['Actual Rows'] ?? 0;
    node = node.Plans?.[0];
  }
  return { shape: shape.join(' → '), rowsScanned, executionMs };
}
