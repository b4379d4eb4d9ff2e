import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { DatabaseConfig } from '../config/app-config';
import { errorMessage } from '../common/error-message';

/** Any fixed 64-bit number; the same on every instance so they migrate one at a time. */
const MIGRATION_LOCK_KEY = 7_316_245_901_442_001n;

@Injectable()
export class MigrationService implements OnModuleInit {
  private readonly logger = new Logger('Migrations');

  constructor(
    private readonly dataSource: DataSource,
    private readonly config: DatabaseConfig,
  ) {}

  async onModuleInit(): Promise<void> {
    if (this.config.runMigrations) await this.migrate();
  }

  /**
   * Runs pending migrations while holding a session advisory lock on a
   * dedicated connection, so instances starting together wait for each other.
   */
  async migrate(): Promise<string[]> {
    const lock = this.dataSource.createQueryRunner();
    try {
      await lock.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY.toString()]);
      const applied = await this.dataSource.runMigrations({ transaction: 'each' });
      const names = applied.map((m) => m.name);
      this.logger.log(
        names.length ? `Applied migrations: ${names.join(', ')}` : 'Schema is up to date',
      );
      return names;
    } catch (error) {
      throw new Error(`Migration failed: ${errorMessage(error)}`, {
        cause: error,
      });
    } finally {
      await lock
        .query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY.toString()])
        .catch(() => undefined);
      await lock.release();
    }
  }

  /** True when every known migration has been applied (readiness). */
  async upToDate(): Promise<boolean> {
    return !(await this.dataSource.showMigrations());
  }
}
