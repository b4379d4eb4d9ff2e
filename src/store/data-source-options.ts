import type { PostgresDataSourceOptions } from 'typeorm/driver/postgres/PostgresDataSourceOptions';
import { MIGRATIONS } from '../../migrations';
import { DatabaseConfig } from '../config/app-config';

/** The one place the TypeORM DataSource is described: the service, ormconfig.ts and tests use it. */
export function dataSourceOptions(
  config: Pick<
    DatabaseConfig,
    'poolSize' | 'statementTimeoutMs' | 'idleInTransactionTimeoutMs' | 'connectTimeoutMs'
  >,
  url: string,
): PostgresDataSourceOptions {
  return {
    type: 'postgres',
    url,
    migrations: MIGRATIONS,
    migrationsTableName: 'sync_migrations',
    migrationsTransactionMode: 'each',
    poolSize: config.poolSize,
    connectTimeoutMS: config.connectTimeoutMs,
    extra: {
      application_name: 'sync-server',
      // Bounded work: a stuck statement or an abandoned transaction cannot hold a connection forever.
      statement_timeout: config.statementTimeoutMs,
      idle_in_transaction_session_timeout: config.idleInTransactionTimeoutMs,
    },
  };
}
