import type { Pool } from 'pg';
import type { DataSource } from 'typeorm';

/**
 * Every place the store reaches past TypeORM's or pg's public API, so an
 * upgrade of either has one file to check.
 */

/** TypeORM's PostgresDriver keeps the pg Pool as `master`; undefined once the DataSource is closed. */
export function poolOf(dataSource: DataSource): Pool | undefined {
  if (!dataSource.isInitialized) return undefined;
  return (dataSource.driver as { master?: Pool }).master;
}
