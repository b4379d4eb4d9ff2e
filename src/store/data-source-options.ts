import type { PostgresDataSourceOptions } from 'typeorm/driver/postgres/PostgresDataSourceOptions';
import { MIGRATIONS } from '../../migrations';
import { AppConfig } from '../config/app-config';

/** The one place the TypeORM DataSource is described: the service, ormconfig.ts and tests use it. */
export function dataSourceOptions(
  config: Pick<
    AppConfig,
    'dbPoolSize' | 'dbStatementTimeoutMs' | 'dbIdleInTransactionTimeoutMs' | 'dbConnectTimeoutMs'
  >,
  url: string,
): PostgresDataSourceOptions {
  return {
    type: 'postgres',
    url,
    migrations: MIGRATIONS,
    migrationsTableName: 'sync_migrations',
    migrationsTransactionMode: 'each',
    poolSize: config.dbPoolSize,
    connectTimeoutMS: config.dbConnectTimeoutMs,
    extra: {
      application_name: 'sync-server',
      // Bounded work: a stuck statement or an abandoned transaction cannot hold a connection forever.
      statement_timeout: config.dbStatementTimeoutMs,
      idle_in_transaction_session_timeout: config.dbIdleInTransactionTimeoutMs,
    },
  };
}
