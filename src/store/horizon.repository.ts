import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';

/** A transaction of this database that holds the cursor horizon back. */
export interface HorizonHolder {
  /** Backend pid; null for a prepared transaction (it has no session). */
  pid: number | null;
  /** The session's application_name, or `prepared <gid>`; null when the role may not see it. */
  applicationName: string | null;
  /** Seconds since the transaction started; null when the role may not see it. */
  ageSeconds: number | null;
  xid: bigint;
}

export interface HorizonSample {
  /** The cursor horizon (docs/cursor.md): every transaction below it has ended. */
  horizon: bigint;
  /** The next transaction id to be assigned. */
  nextXid: bigint;
  /** The oldest transactions still running (up to HOLDERS), oldest first. */
  holders: HorizonHolder[];
}

const HOLDERS = 3;

/**
 * The horizon as the realtime side watches it: the same definition as the
 * read path's (ChangeRepository), plus who holds it back. Reads system views
 * only (no user data), so it runs on the pool's own role, outside any RLS
 * transaction: sessions of other roles show their pid and backend_xid to
 * anyone, and their application_name and start time to roles with
 * pg_read_all_stats (or to superusers).
 */
@Injectable()
export class HorizonRepository {
  constructor(private readonly dataSource: DataSource) {}

  async sample(): Promise<HorizonSample> {
    const [row] = (await this.dataSource.query(
      `WITH fresh AS MATERIALIZED (SELECT pg_stat_clear_snapshot()),
            next AS MATERIALIZED (
              SELECT (pg_snapshot_xmax(pg_current_snapshot())::text)::bigint AS xid FROM fresh),
            running AS MATERIALIZED (
              SELECT a.pid, a.application_name AS app,
                     extract(epoch FROM clock_timestamp() - a.xact_start)::float8 AS age,
                     (a.backend_xid::text)::bigint AS xid
                FROM pg_stat_activity a, next
               WHERE a.datname = current_database() AND a.backend_xid IS NOT NULL
              UNION ALL
              SELECT NULL, 'prepared ' || p.gid,
                     extract(epoch FROM clock_timestamp() - p.prepared)::float8,
                     (p.transaction::text)::bigint
                FROM pg_prepared_xacts p, next
               WHERE p.database = current_database())
       SELECT next.xid::text AS "nextXid",
              least(next.xid, (SELECT min(xid) FROM running))::text AS horizon,
              coalesce((SELECT json_agg(h) FROM (
                SELECT pid, app AS "applicationName", age AS "ageSeconds", xid::text AS xid
                  FROM running ORDER BY xid LIMIT ${HOLDERS}) h), '[]') AS holders
         FROM next`,
    )) as {
      nextXid: string;
      horizon: string;
      holders: {
        pid: number | null;
        applicationName: string | null;
        ageSeconds: number | null;
        xid: string;
      }[];
    }[];
    return {
      horizon: BigInt(row.horizon),
      nextXid: BigInt(row.nextXid),
      holders: row.holders.map((h) => ({ ...h, xid: BigInt(h.xid) })),
    };
  }
}
