import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { DatabaseConfig } from '../config/app-config';
import type { CommittedChange } from './change-log';

/**
 * Who committed changes in a range of transactions: one row per transaction, app, user
 * and writing client, with the tables and spaces it wrote. Read through the tx_id index.
 */
const COMMITTED_SQL = `SELECT app_id AS "appId", user_id AS "userId", client_id AS "clientId",
         tx_id::text AS "txId", array_agg(DISTINCT table_name) AS tables,
         coalesce(array_agg(DISTINCT space_id) FILTER (WHERE space_id IS NOT NULL), '{}')
           AS "spaceIds"
    FROM sync_changes
   WHERE tx_id >= $1::bigint AND tx_id < $2::bigint
   GROUP BY tx_id, app_id, user_id, client_id
   ORDER BY tx_id
   LIMIT $3`;

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
   * What transactions in [from, below) committed, oldest first, at most `limit` entries.
   * `below` must be a horizon read in an earlier statement (docs/cursor.md): then every
   * transaction in the range has ended, and the answer is final.
   */
  async committedBetween(from: bigint, below: bigint, limit: number): Promise<CommittedChange[]> {
    const runner = this.dataSource.createQueryRunner();
    try {
      await runner.connect();
      await runner.startTransaction();
      await runner.query(`SELECT set_config('role', $1, true)`, [this.config.observerRole]);
      const rows = (await runner.query(COMMITTED_SQL, [
        from.toString(),
        below.toString(),
        limit,
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
