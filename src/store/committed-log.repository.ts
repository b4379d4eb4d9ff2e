import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { DatabaseConfig } from '../config/app-config';
import type { CommittedChange } from './change-log';

/**
 * Who committed changes in a range of transactions: one row per transaction, app, user
 * and writing client, with the tables and spaces it wrote. Read through the index on
 * `tx_id + 0` (migration ObserverRole).
 */
const COMMITTED_COLUMNS = `app_id AS "appId", user_id AS "userId", client_id AS "clientId",
         tx_id::text AS "txId", array_agg(DISTINCT table_name) AS tables,
         coalesce(array_agg(DISTINCT space_id) FILTER (WHERE space_id IS NOT NULL), '{}')
           AS "spaceIds"`;

/** A range of transactions ($1, $2, at most $3 entries), and the open ones of earlier ranges ($4). */
const COMMITTED_SQL = `(SELECT ${COMMITTED_COLUMNS}
    FROM sync_changes
   WHERE tx_id + 0 = ANY($4::bigint[])
   GROUP BY tx_id, app_id, user_id, client_id)
  UNION ALL
  (SELECT ${COMMITTED_COLUMNS}
    FROM sync_changes
   WHERE tx_id + 0 >= $1::bigint AND tx_id + 0 < $2::bigint
   GROUP BY tx_id, app_id, user_id, client_id
   ORDER BY tx_id
   LIMIT $3)`;

/**
 * The log as the hint sweep reads it: across users, so not in a user's RLS transaction,
 * but as the observer role (DB_OBSERVER_ROLE), which may read only the columns a hint
 * carries (ids, table names, positions) and write nothing. Never record data.
 */
@Injectable()
export class CommittedLogRepository {
  constructor(
    private readonly dataSource: DataSource,
    private readonly config: DatabaseConfig,
  ) {}

  /**
   * What transactions in [from, below) committed, oldest first, at most `limit` entries, and
   * (without a limit, first) what the transactions `also` committed. `below` must be the next
   * xid of a horizon sample taken before (docs/cursor.md): then every transaction of the
   * range that may still add rows was a holder in that sample.
   */
  async committedBetween(
    from: bigint,
    below: bigint,
    limit: number,
    also: readonly bigint[] = [],
  ): Promise<CommittedChange[]> {
    const runner = this.dataSource.createQueryRunner();
    try {
      await runner.connect();
      await runner.startTransaction();
      await runner.query(`SELECT set_config('role', $1, true)`, [this.config.observerRole]);
      const rows = (await runner.query(COMMITTED_SQL, [
        from.toString(),
        below.toString(),
        limit,
        also.map(String),
      ])) as CommittedChange[];
      await runner.commitTransaction();
      return rows;
    } catch (error) {
      if (runner.isTransactionActive) await runner.rollbackTransaction().catch(() => undefined);
      throw error;
    } finally {
      await runner.release();
    }
  }
}
