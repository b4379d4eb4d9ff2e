import type { QueryRunner } from 'typeorm';
import { HORIZON_SQL } from '../store/change.repository';
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
  /** App, table and record id: rows with the same key are one record's history. */
  recordKey: string;
}

export interface StripFields {
  id: string;
  fields: string[];
}

export interface BatchVerdict {
  /** Rows read. */
  scanned: number;
  remove: string[];
  strip: StripFields[];
}

/** A time both orders compare alike (see isFixedTime). */
const FIXED = (expr: string) =>
  `(jsonb_typeof(${expr}) = 'string' AND (${expr} #>> '{}') ~ '^[\\x20-\\x7e]*$')`;

/**
 * $1 table names, $2 record ids, $3 horizon, $4 minimum age (hours), $5 user id or null.
 * "Later rows" are windows over the reversed order ending one row before: PostgreSQL
 * computes those incrementally, where a frame starting after the current row would
 * cost quadratic time on a long history.
 */
const JUDGE_SQL = `
WITH r AS MATERIALIZED (
  SELECT s.id, s.app_id, s.table_name, s.record_id, s.user_id, s.space_id, s.op, s.tx_id, s.seq,
         CASE WHEN jsonb_typeof(s.data) = 'object' THEN s.data END AS data, s.field_meta,
         s.created_at < now() - make_interval(hours => $4) AND ($5::text IS NULL OR s.user_id = $5) AS eligible
    FROM sync_changes s
    JOIN unnest($1::text[], $2::text[]) AS k(table_name, record_id)
      ON s.table_name = k.table_name AND s.record_id = k.record_id
   WHERE s.tx_id < $3::bigint
),
d AS (
  SELECT r.*,
         CASE WHEN op = 'delete' THEN
                CASE WHEN jsonb_typeof(data -> 'deletedAt') = 'string' AND data ->> 'deletedAt' <> ''
                     THEN 'soft' ELSE 'hard' END
              WHEN op IN ('insert', 'update') THEN 'creator'
              ELSE 'opaque' END AS kind,
         CASE WHEN op = 'insert' THEN
           coalesce(nullif(data -> 'updatedAt', 'null'::jsonb), nullif(data -> 'createdAt', 'null'::jsonb))
         END AS ins_time
    FROM r
),
fx AS (
  SELECT d.*,
         CASE kind
           WHEN 'hard' THEN true
           WHEN 'opaque' THEN false
           WHEN 'soft' THEN ${FIXED(`data -> 'deletedAt'`)}
           ELSE data IS NOT NULL AND CASE
             WHEN op = 'insert' THEN ${FIXED('ins_time')} AND NOT (data ?| ARRAY['__fieldMeta', '_updatedAtIndex'])
             ELSE NOT (data ?| ARRAY['id', '__fieldMeta', '_updatedAtIndex'])
                  AND NOT EXISTS (SELECT 1 FROM jsonb_object_keys(data) key
                                   WHERE NOT coalesce(${FIXED('field_meta -> key')}, false))
           END
         END AS fixed
    FROM d
),
-- Only what the windows need: no payloads through the sorts. writes: field → time.
f AS MATERIALIZED (
  SELECT id, app_id, table_name, record_id, user_id, space_id, tx_id, seq, op, kind, fixed, eligible,
         op = 'insert' AND ins_time IS NOT NULL AND jsonb_typeof(ins_time) <> 'string' AS unorderable,
         CASE WHEN NOT fixed THEN NULL
              WHEN kind = 'soft' THEN jsonb_build_object('deletedAt', data -> 'deletedAt')
              WHEN op = 'insert' THEN coalesce((SELECT jsonb_object_agg(key, ins_time)
                                                  FROM jsonb_object_keys(data) key WHERE key <> 'id'), '{}')
              WHEN op = 'update' THEN coalesce((SELECT jsonb_object_agg(key, field_meta -> key)
                                                  FROM jsonb_object_keys(data) key), '{}')
         END AS writes
    FROM fx
),
w AS (
  SELECT f.id, f.app_id, f.table_name, f.record_id, f.user_id, f.space_id, f.tx_id, f.seq,
         e.key AS field, e.value AS t
    FROM f CROSS JOIN LATERAL jsonb_each_text(f.writes) e
   WHERE f.writes IS NOT NULL
),
cov AS (
  SELECT id, count(*) AS writes,
         count(*) FILTER (WHERE later >= t COLLATE "C") AS covered,
         array_agg(field ORDER BY field) FILTER (WHERE later >= t COLLATE "C") AS covered_fields
    FROM (SELECT w.*, max(t COLLATE "C") OVER (
                   PARTITION BY app_id, table_name, record_id, user_id, space_id, field
                   ORDER BY tx_id DESC, seq DESC ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS later
            FROM w) x
   GROUP BY id
),
rl AS (
  SELECT f.id, f.op, f.kind, f.fixed, f.eligible,
         coalesce(bool_or(f.kind = 'hard') OVER (
           PARTITION BY app_id, table_name, record_id, user_id, space_id
           ORDER BY tx_id DESC, seq DESC ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), false) AS hard_later,
         bool_or(f.unorderable) OVER (PARTITION BY app_id, table_name, record_id) AS poisoned,
         coalesce(lead(f.user_id) OVER rec = f.user_id
                  AND lead(f.space_id) OVER rec IS NOT DISTINCT FROM f.space_id
                  AND lead(f.fixed) OVER rec
                  AND lead(f.kind) OVER rec IN ('creator', 'hard'), false) AS next_creates
    FROM f
  WINDOW rec AS (PARTITION BY app_id, table_name, record_id ORDER BY tx_id, seq)
),
verdict AS (
  SELECT rl.id,
         CASE WHEN rl.hard_later THEN 'remove'
              WHEN rl.kind <> 'hard' AND coalesce(cov.writes, 0) = coalesce(cov.covered, 0)
                   AND (rl.kind = 'soft' OR rl.next_creates) THEN 'remove'
              WHEN rl.op = 'update' AND cov.covered > 0 THEN 'strip'
         END AS action,
         cov.covered_fields
    FROM rl LEFT JOIN cov ON cov.id = rl.id
   WHERE NOT rl.poisoned AND rl.eligible AND rl.fixed AND rl.kind <> 'opaque'
)
SELECT (SELECT count(*)::int FROM r) AS scanned,
       coalesce((SELECT array_agg(id::text) FROM verdict WHERE action = 'remove'), '{}') AS remove,
       coalesce((SELECT json_agg(json_build_object('id', id, 'fields', covered_fields))
                   FROM verdict WHERE action = 'strip'), '[]') AS strip`;

/** Adds the counts of `select` (group columns, then a count) to `column` of each group's tally. */
const TALLY_SQL = (column: 'rows_removed' | 'fields_stripped', select: string): string => `
  INSERT INTO sync_compaction_removals AS t (app_id, table_name, record_id, user_id, space_id, ${column})
  ${select} GROUP BY app_id, table_name, record_id, user_id, space_id
  ON CONFLICT (app_id, table_name, record_id, user_id, (coalesce(space_id, '')))
  DO UPDATE SET ${column} = t.${column} + excluded.${column}, updated_at = now()`;

/**
 * The SQL of one compaction batch, on the transaction the CompactionRunner opened
 * as the compaction role: judges the batch's rows in the database (only ids and
 * field names come back), then deletes and strips by primary key.
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
   * order per (app, table, record), as the pure rule (judgeRecord) reads them; the
   * differential test checks `judge` against it. `eligible`: older than the minimum
   * age and, with `userId`, that user's.
   */
  async rowsOf(keys: RecordKey[], minAgeHours: number, userId?: string): Promise<CompactionRow[]> {
    const horizon = await this.horizon();
    return (await this.queryRunner.query(
      `SELECT s.id, concat_ws(E'\\n', s.app_id, s.table_name, s.record_id) AS "recordKey",
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

  /**
   * The rule of compaction-rule.ts (judgeRecord), set-based in one statement over the
   * final rows of these records: returns how many rows it read and what to remove and
   * strip, never the rows themselves. Kept equal to judgeRecord by a differential test.
   */
  async judge(keys: RecordKey[], minAgeHours: number, userId?: string): Promise<BatchVerdict> {
    const horizon = await this.horizon();
    const [row] = (await this.queryRunner.query(JUDGE_SQL, [
      keys.map((k) => k.tableName),
      keys.map((k) => k.recordId),
      horizon,
      minAgeHours,
      userId ?? null,
    ])) as { scanned: number; remove: string[]; strip: StripFields[] }[];
    return row;
  }

  /** Deletes the rows and counts them per group in sync_compaction_removals (the inspector says it). */
  async remove(ids: string[]): Promise<number> {
    if (ids.length === 0) return 0;
    const [row] = (await this.queryRunner.query(
      `WITH gone AS (
         DELETE FROM sync_changes WHERE id = ANY($1::uuid[])
         RETURNING app_id, table_name, record_id, user_id, space_id),
       counted AS (${TALLY_SQL('rows_removed', 'SELECT app_id, table_name, record_id, user_id, space_id, count(*) FROM gone')})
       SELECT count(*)::int AS removed FROM gone`,
      [ids],
    )) as { removed: number }[];
    return row.removed;
  }

  /** Strips covered fields; counts them per group in sync_compaction_removals. */
  async strip(rows: StripFields[]): Promise<void> {
    if (rows.length === 0) return;
    await this.queryRunner.query(
      `WITH stripped AS (
         UPDATE sync_changes s
            SET data = s.data - u.fields, field_meta = s.field_meta - u.fields
           FROM jsonb_to_recordset($1::jsonb) AS u(id uuid, fields text[])
          WHERE s.id = u.id
         RETURNING s.app_id, s.table_name, s.record_id, s.user_id, s.space_id, cardinality(u.fields) AS n)
       ${TALLY_SQL('fields_stripped', 'SELECT app_id, table_name, record_id, user_id, space_id, sum(n) FROM stripped')}`,
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
    const [row] = (await this.queryRunner.query(HORIZON_SQL)) as { horizon: string }[];
    return row.horizon;
  }
}
