import { Logger, OnApplicationShutdown } from '@nestjs/common';
import { DataSource } from 'typeorm';
import type { PostgresDataSourceOptions } from 'typeorm/driver/postgres/PostgresDataSourceOptions';
import { DatabaseConfig } from '../config/app-config';
import { dataSourceOptions } from './data-source-options';
import { EmbeddedPostgresHandle, startEmbeddedPostgres } from './embedded-postgres';
import { errorMessage } from '../common/error-message';

/**
 * Owns the connection pool and, without DATABASE_URL, the embedded PostgreSQL
 * it points at; closes both (in that order) when the application shuts down.
 */
export class Database implements OnApplicationShutdown {
  private readonly logger = new Logger('Database');
  private embedded?: EmbeddedPostgresHandle;
  private source?: DataSource;

  static async open(config: DatabaseConfig): Promise<Database> {
    const database = new Database();
    await database.connect(config);
    return database;
  }

  get dataSource(): DataSource {
    if (!this.source) throw new Error('Database is not open');
    return this.source;
  }

  private async connect(config: DatabaseConfig): Promise<void> {
    let url = config.url;
    if (!url) {
      this.embedded = await startEmbeddedPostgres({
        ...config.embedded,
        database: 'sync',
        log: (line) => this.logger.log(line),
      });
      url = this.embedded.url;
    }
    const source = new DataSource(dataSourceOptions(config, url));
    try {
      this.source = await source.initialize();
    } catch (error) {
      await this.embedded?.stop();
      throw new Error(`Cannot connect to PostgreSQL at ${redact(url)}: ${errorMessage(error)}`, {
        cause: error,
      });
    }
  }

  async onApplicationShutdown(): Promise<void> {
    if (this.source?.isInitialized) await this.source.destroy();
    await this.embedded?.stop();
  }
}

/**
 * The URL the service's pool connects to (the embedded server's without
 * DATABASE_URL), for the few connections that must live outside the pool
 * (the LISTEN connection of the change bus).
 */
export function databaseUrlOf(dataSource: DataSource): string {
  const { url } = dataSource.options as PostgresDataSourceOptions;
  if (!url) throw new Error('The DataSource has no connection URL');
  return url;
}

function redact(url: string): string {
  return url.replace(/\/\/([^:@/]+):[^@/]*@/, '//$1:***@');
}
