import { Injectable } from '@nestjs/common';
import { HORIZON_SQL } from '../store/change.repository';
import { WIRE_CHANGE_SQL } from '../store/wire-projection';
import { isoTimeSql } from '../store/change-columns';
import { TransactionHost } from '../store/transaction-host';
import type { LoggedChange, WireChange } from './device-merge';

/** One collection of one app, as the scope's user reads it. */
export interface CollectionSummary {
  appId: string;
  collection: string;
  rows: number;
  records: number;
  lastChangeAt: string;
  spaces: string[];
}

export interface RecordRowCount {
  recordId: string;
  rows: number;
}

export interface ChangeTime {
  eventId: string;
  collection: string;
  recordId: string;
  clientId: string;
  createdAt: string;
}

export interface RemovalTally {
  rowsRemoved: number;
  fieldsStripped: number;
  lastAt: string | null;
}

/** Rows the scope may read; RLS holds this anyway, the filter is defense in depth. */
const READABLE = `(user_id = $1 OR (space_id IS NOT NULL AND space_id = ANY($2::text[])))`;

/** A logged change: the wire projection (what a device receives) and what the log knows of it. */
const LOGGED_COLUMNS = `id::text AS "eventId", tx_id::text AS "txId", seq::text AS seq,
  ${isoTimeSql('created_at')} AS "createdAt", client_id AS "clientId", user_id AS "userId",
  space_id AS "spaceId", origin, (${WIRE_CHANGE_SQL})::json AS wire, record_id AS "recordId"`;

type LoggedRow = Omit<LoggedChange, 'actor'> & { recordId: string };

/**
 * The inspector's reads of the change log, only inside the request's RLS transaction
 * (TransactionHost): a user sees what their devices could pull, nothing more.
 */
@Injectable()
export class InspectRepository {
  constructor(private readonly tx: TransactionHost) {}

  private scopeParams(): unknown[] {
    const { userId, spaceIds } = this.tx.scope;
    return [userId, [...spaceIds]];
  }

  /** Every app and collection the user can read, with counts; at most `limit` collections. */
  async collections(limit: number): Promise<CollectionSummary[]> {
    const rows = await this.tx.query<CollectionSummary & { rows: string; records: string }>(
      `SELECT app_id AS "appId", table_name AS collection, count(*)::text AS rows,
              count(DISTINCT record_id)::text AS records,
              ${isoTimeSql('max(created_at)')} AS "lastChangeAt",
              coalesce(array_agg(DISTINCT space_id ORDER BY space_id)
                         FILTER (WHERE space_id IS NOT NULL), '{}') AS spaces
         FROM sync_changes
        WHERE ${READABLE}
        GROUP BY app_id, table_name
        ORDER BY app_id, table_name
        LIMIT $3`,
      [...this.scopeParams(), limit],
    );
    return rows.map((r) => ({ ...r, rows: Number(r.rows), records: Number(r.records) }));
  }

  /** The cursor horizon (docs/cursor.md): a stream starting there misses nothing later. */
  async horizon(): Promise<bigint> {
    const [row] = await this.tx.query<{ horizon: string }>(HORIZON_SQL);
    return BigInt(row.horizon);
  }

  /** The next records of a collection after `after` (record id order), with their row counts. */
  async recordsAfter(
    appId: string,
    collection: string,
    after: string | undefined,
    limit: number,
  ): Promise<RecordRowCount[]> {
    const rows = await this.tx.query<{ recordId: string; rows: string }>(
      `SELECT record_id AS "recordId", count(*)::text AS rows
         FROM sync_changes
        WHERE ${READABLE} AND app_id = $3 AND table_name = $4
          AND ($5::text IS NULL OR record_id COLLATE "C" > $5::text)
        GROUP BY record_id
        ORDER BY record_id COLLATE "C"
        LIMIT $6`,
      [...this.scopeParams(), appId, collection, after ?? null, limit],
    );
    return rows.map((r) => ({ recordId: r.recordId, rows: Number(r.rows) }));
  }

  /** Every readable change of these records, each record's in log order. */
  async changesOf(
    appId: string,
    collection: string,
    recordIds: readonly string[],
  ): Promise<Map<string, LoggedChange[]>> {
    const rows = await this.tx.query<LoggedRow>(
      `SELECT ${LOGGED_COLUMNS}
         FROM sync_changes
        WHERE ${READABLE} AND app_id = $3 AND table_name = $4 AND record_id = ANY($5::text[])
        ORDER BY tx_id, seq`,
      [...this.scopeParams(), appId, collection, [...recordIds]],
    );
    const byRecord = new Map<string, LoggedChange[]>(recordIds.map((id) => [id, []]));
    for (const { recordId, ...row } of rows) {
      const wire = row.wire as WireChange;
      byRecord.get(recordId)?.push({ ...row, wire, actor: wire.actor });
    }
    return byRecord;
  }

  /** What compaction removed from a record's history, in the groups the user can read. */
  async removals(appId: string, collection: string, recordId: string): Promise<RemovalTally> {
    const [row] = await this.tx.query<{
      rowsRemoved: string;
      fieldsStripped: string;
      lastAt: string | null;
    }>(
      `SELECT coalesce(sum(rows_removed), 0)::text AS "rowsRemoved",
              coalesce(sum(fields_stripped), 0)::text AS "fieldsStripped",
              ${isoTimeSql('max(updated_at)')} AS "lastAt"
         FROM sync_compaction_removals
        WHERE ${READABLE} AND app_id = $3 AND table_name = $4 AND record_id = $5`,
      [...this.scopeParams(), appId, collection, recordId],
    );
    return {
      rowsRemoved: Number(row.rowsRemoved),
      fieldsStripped: Number(row.fieldsStripped),
      lastAt: row.lastAt,
    };
  }

  /** When these changes (row ids) of an app were pushed, and by which client. */
  async changeTimes(appId: string, eventIds: readonly string[]): Promise<ChangeTime[]> {
    return this.tx.query<ChangeTime>(
      `SELECT id::text AS "eventId", table_name AS collection, record_id AS "recordId",
              client_id AS "clientId", ${isoTimeSql('created_at')} AS "createdAt"
         FROM sync_changes
        WHERE ${READABLE} AND app_id = $3 AND id = ANY($4::uuid[])
        ORDER BY tx_id, seq`,
      [...this.scopeParams(), appId, eventIds.map((id) => id.toLowerCase())],
    );
  }
}
