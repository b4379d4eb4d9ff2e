import type { Pool } from 'pg';
import type { DataSource } from 'typeorm';
import type { PostgresQueryRunner } from 'typeorm/driver/postgres/PostgresQueryRunner';

/**
 * Every place the store reaches past TypeORM's or pg's public API, so an
 * upgrade of either has one file to check. (The pg-cursor `_destroy` patch of
 * the export stream still sits next to its only use, ChangeRepository.streamAllForUser.)
 */

/** TypeORM's PostgresDriver keeps the pg Pool as `master`; undefined once the DataSource is closed. */
export function poolOf(dataSource: DataSource): Pool | undefined {
  if (!dataSource.isInitialized) return undefined;
  return (dataSource.driver as { master?: Pool }).master;
}

/**
 * TypeORM keeps private the pg-pool release overload that destroys a
 * connection (`release(error)`): a broken connection must not go back to the pool.
 */
export function releasePostgresConnection(
  queryRunner: PostgresQueryRunner,
  broken?: Error,
): Promise<void> {
  return queryRunner['releasePostgresConnection'](broken);
}
