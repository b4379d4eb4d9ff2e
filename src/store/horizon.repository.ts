import { Injectable } from '@nestjs/common';
import { createHash } from 'crypto';
import { DataSource } from 'typeorm';
import { SyncConfig } from '../config/app-config';

/** A transaction of this database that may still add rows to the change log. */
export interface HorizonHolder {
  /** Backend pid; null for a prepared transaction (it has no session). */
  pid: number | null;
  /** The session's application_name, or `prepared <gid>`; null when the role may not see it. */
  applicationName: string | null;
  /** Seconds since the transaction started; null when the role may not see it. */
  ageSeconds: number | null;
  xid: bigint;
  /**
   * Keys (scopeKey) of the scopes it claimed: it holds back readers of these only.
   * WILDCARD_KEY among them: every reader (an unattributed writer; with SYNC_HORIZON=global,
   * every transaction that has an id).
   */
  scopeKeys: number[];
}

export interface HorizonSample {
  /**
   * The horizon over every scope (docs/cursor.md): every transaction below it has ended or
   * will never write the change log.
   */
  horizon: bigint;
  /** The next transaction id to be assigned. */
  nextXid: bigint;
  /** Every transaction that may still add rows, oldest first. */
  holders: HorizonHolder[];
}

/** The advisory-lock key of a scope, as `sync_scope_key` (migration ScopeClaims) computes it. */
export function scopeKey(scope: string): number {
  return createHash('md5').update(scope).digest().readInt32BE(0);
}

/** The scope every reader includes: unattributed writers claim it. */
export const WILDCARD_KEY = scopeKey('*');

/** What a reader of this user and these spaces reads, as scope keys (sync_scope_horizon's). */
export function readerScopeKeys(userId: string, spaceIds: readonly string[]): number[] {
  return [WILDCARD_KEY, scopeKey(`u:${userId}`), ...spaceIds.map((id) => scopeKey(`s:${id}`))];
}

/** The horizon of a reader of `keys` in `sample`: below the oldest holder of any of them. */
export function horizonOf(sample: HorizonSample, keys: ReadonlySet<number>): bigint {
  for (const holder of sample.holders) {
    // Oldest first: the first holder of one of the keys bounds it.
    if (holder.xid >= sample.nextXid) break;
    if (holder.scopeKeys.some((key) => keys.has(key))) return holder.xid;
  }
  return sample.nextXid;
}

interface HolderRow {
  pid: number | null;
  applicationName: string | null;
  ageSeconds: number | null;
  xid: string;
  scopeKeys: number[];
}

/** Claim holders with their sessions; the next xid is the statement's, read before the holders. */
const SCOPE_SAMPLE_SQL = `WITH next AS MATERIALIZED (
         SELECT (pg_snapshot_xmax(pg_current_snapshot())::text)::bigint AS xid),
       claims AS MATERIALIZED (SELECT h.xid, h.scope_key, h.pid FROM sync_claim_holders() h),
       running AS (
         SELECT c.xid, min(c.pid) AS pid, array_agg(DISTINCT c.scope_key) AS keys,
                (array_agg(p.gid))[1] AS gid, min(p.prepared) AS prepared
           FROM claims c
           LEFT JOIN pg_prepared_xacts p
             ON c.pid IS NULL AND (p.transaction::text)::bigint = c.xid
          GROUP BY c.xid)
  SELECT next.xid::text AS "nextXid",
         coalesce((SELECT json_agg(h) FROM (
           SELECT r.pid, coalesce(a.application_name, 'prepared ' || r.gid) AS "applicationName",
                  extract(epoch FROM clock_timestamp() - coalesce(a.xact_start, r.prepared))::float8
                    AS "ageSeconds",
                  r.xid::text AS xid, r.keys AS "scopeKeys"
             FROM running r LEFT JOIN pg_stat_activity a ON a.pid = r.pid) h), '[]') AS holders
    FROM next`;

/** Every transaction of this database that has an id holds everyone (SYNC_HORIZON=global). */
const GLOBAL_SAMPLE_SQL = `WITH fresh AS MATERIALIZED (SELECT pg_stat_clear_snapshot()),
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
         coalesce((SELECT json_agg(h) FROM (
           SELECT pid, app AS "applicationName", age AS "ageSeconds", xid::text AS xid,
                  ARRAY[${WILDCARD_KEY}] AS "scopeKeys"
             FROM running) h), '[]') AS holders
    FROM next`;

/**
 * The horizon as the realtime side watches it, one reading for the whole instance: the
 * same definitions as the read path's (ChangeRepository: sync_scope_horizon, or HORIZON_SQL
 * with SYNC_HORIZON=global), for every scope at once, with who holds which scopes back.
 * Reads system views only (no user data), so it runs on the pool's own role, outside any
 * RLS transaction: sessions of other roles show their pid, backend_xid and locks to anyone,
 * their application_name and start time to roles with pg_read_all_stats (or superusers).
 */
@Injectable()
export class HorizonRepository {
  private readonly sql: string;

  constructor(
    private readonly dataSource: DataSource,
    config: SyncConfig,
  ) {
    this.sql = config.horizon === 'global' ? GLOBAL_SAMPLE_SQL : SCOPE_SAMPLE_SQL;
  }

  async sample(): Promise<HorizonSample> {
    const [row] = (await this.dataSource.query(this.sql)) as {
      nextXid: string;
      holders: HolderRow[];
    }[];
    const nextXid = BigInt(row.nextXid);
    // A holder at or past the next xid holds back nothing yet, but is reported all the same.
    const holders = row.holders
      .map((h) => ({ ...h, xid: BigInt(h.xid) }))
      .sort((a, b) => (a.xid < b.xid ? -1 : a.xid > b.xid ? 1 : 0));
    const oldest = holders.length > 0 ? holders[0].xid : nextXid;
    return { nextXid, horizon: oldest < nextXid ? oldest : nextXid, holders };
  }
}
