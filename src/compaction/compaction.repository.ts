import type { QueryRunner } from 'typeorm';
import type { StoredRowFacts } from './compaction-rule';

/** A record's place in the pass: records are visited in (table_name, record_id) order. */
export interface RecordKey {
  tableName: string;
  recordId: string;
}

export interface RecordBatchKey extends RecordKey {
  /** Its rows (of `userId` when given): bounds a batch's size. */
  rows: number;
}

export interface CompactionRow extends StoredRowFacts {
  id: string;
  appId: string;
  tableName: string;
  recordId: string;
}

export interface StripFields {
  id: string;
  fields: string[];
}

/**
 * The SQL of one compaction batch, on the transaction the CompactionRunner opened
 * as the compaction role. Reads only what the rule needs (names and times, never
 * values), then deletes and strips by primary key.
 */
export class CompactionRepository {
  constructor(private readonly queryRunner: QueryRunner) {}

  /** The next records after `after` (all of them, or those with rows of `userId`). */
  async nextRecords(
    after: RecordKey | null,
    limit: number,
    userId?: string,
  ): Promise<RecordBatchKey[]> {
    const params: unknown[] = [limit];
    const where: string[] = [];
    if (after) {
      params.push(after.tableName, after.recordId);
      where.push(`(table_name, record_id) > ($2, $3)`);
    }
    if (userId !== undefined) {
      params.push(userId);
      where.push(`user_id = $${params.length}`);
    }
    const rows = (await this.queryRunner.query(
      `SELECT table_name AS "tableName", record_id AS "recordId", count(*)::int AS rows
         FROM sync_changes
        ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
        GROUP BY table_name, record_id
        ORDER BY table_name, record_id
        LIMIT $1`,
      params,
    )) as RecordBatchKey[];
    return rows;
  }

  /**
   * Every final row of these records (below the cursor horizon, docs/cursor.md), in log
   * order per (app, table, record). `eligible`: older than the minimum age and, with
   * `userId`, that user's.
   */
  async rowsOf(keys: RecordKey[], minAgeHours: number, userId?: string): Promise<CompactionRow[]> {
    const horizon = await this.horizon();
    return (await this.queryRunner.query(
      `SELECT s.id, s.app_id AS "appId", s.table_name AS "tableName", s.record_id AS "recordId",
              s.user_id AS "userId", s.space_id AS "spaceId", s.op,
              jsonb_typeof(s.data) AS "dataType",
              CASE WHEN jsonb_typeof(s.data) = 'object'
                   THEN ARRAY(SELECT jsonb_object_keys(s.data)) END AS keys,
              CASE WHEN jsonb_typeof(s.data) = 'object' THEN s.data -> 'updatedAt' END AS "updatedAt",
              CASE WHEN jsonb_typeof(s.data) = 'object' THEN s.data -> 'createdAt' END AS "createdAt",
              CASE WHEN jsonb_typeof(s.data) = 'object' THEN s.data -> 'deletedAt' END AS "deletedAt",
              s.field_meta AS "fieldMeta",
              s.created_at < now() - make_interval(hours => $4)
                AND ($5::text IS NULL OR s.user_id = $5) AS eligible
         FROM sync_changes s
         JOIN unnest($1::text[], $2::text[]) AS k(table_name, record_id)
           ON s.table_name = k.table_name AND s.record_id = k.record_id
        WHERE s.tx_id < $3::bigint
        ORDER BY s.app_id, s.table_name, s.record_id, s.tx_id, s.seq`,
      [
        keys.map((k) => k.tableName),
        keys.map((k) => k.recordId),
        horizon,
        minAgeHours,
        userId ?? null,
      ],
    )) as CompactionRow[];
  }

  async remove(ids: string[]): Promise<number> {
    if (ids.length === 0) return 0;
    const [, count] = (await this.queryRunner.query(
      `DELETE FROM sync_changes WHERE id = ANY($1::uuid[])`,
      [ids],
    )) as [unknown, number];
    return count;
  }

  async strip(rows: StripFields[]): Promise<void> {
    if (rows.length === 0) return;
    await this.queryRunner.query(
      `UPDATE sync_changes s
          SET data = s.data - u.fields, field_meta = s.field_meta - u.fields
         FROM jsonb_to_recordset($1::jsonb) AS u(id uuid, fields text[])
        WHERE s.id = u.id`,
      [JSON.stringify(rows)],
    );
  }

  async resumePoint(): Promise<RecordKey | null> {
    const [row] = (await this.queryRunner.query(
      `SELECT table_name AS "tableName", record_id AS "recordId" FROM sync_compaction_state WHERE id = 1`,
    )) as RecordKey[];
    return row ?? null;
  }

  /** Where the next pass starts; null: from the first record. */
  async saveResumePoint(key: RecordKey | null): Promise<void> {
    if (!key) {
      await this.queryRunner.query(`DELETE FROM sync_compaction_state WHERE id = 1`);
      return;
    }
    await this.queryRunner.query(
      `INSERT INTO sync_compaction_state (id, table_name, record_id) VALUES (1, $1, $2)
       ON CONFLICT (id) DO UPDATE
         SET table_name = excluded.table_name, record_id = excluded.record_id, updated_at = now()`,
      [key.tableName, key.recordId],
    );
  }

  /**
   * The oldest transaction that may still add rows (the same horizon pages use,
   * docs/cursor.md): rows below it are final, so no row can still appear between two
   * rows the rule compares. Its own statement, before the rows are read.
   */
  private async horizon(): Promise<string> {
    const [row] = (await this.queryRunner.query(
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
    return row.horizon;
  }
}
