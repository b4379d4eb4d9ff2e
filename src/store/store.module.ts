import { Global, Module } from '@nestjs/common';
import type { Pool } from 'pg';
import { DataSource } from 'typeorm';
import { DatabaseConfig } from '../config/app-config';
import { MetricsService } from '../metrics/metrics.service';
import { ChangeLog } from './change-log';
import { ChangeRepository } from './change.repository';
import { CommittedLogRepository } from './committed-log.repository';
import { HorizonRepository } from './horizon.repository';
import { IdempotencyRepository } from './idempotency.repository';
import { Database } from './database';
import { DatabaseProbe } from './database-probe';
import { poolOf } from './driver-internals';
import { RlsStartupCheck } from './rls-startup.check';
import { RlsTransactionInterceptor } from './rls-transaction.interceptor';
import { RlsTransactionRunner } from './rls-transaction.runner';
import { TransactionHost } from './transaction-host';

@Global()
@Module({
  providers: [
    {
      provide: Database,
      inject: [DatabaseConfig],
      useFactory: (config: DatabaseConfig) => Database.open(config),
    },
    { provide: DataSource, inject: [Database], useFactory: (db: Database) => db.dataSource },
    TransactionHost,
    RlsTransactionRunner,
    RlsTransactionInterceptor,
    RlsStartupCheck,
    ChangeRepository,
    ChangeLog,
    CommittedLogRepository,
    HorizonRepository,
    IdempotencyRepository,
    DatabaseProbe,
  ],
  exports: [
    DataSource,
    TransactionHost,
    RlsTransactionRunner,
    RlsTransactionInterceptor,
    ChangeRepository,
    ChangeLog,
    CommittedLogRepository,
    HorizonRepository,
    IdempotencyRepository,
    DatabaseProbe,
  ],
})
export class StoreModule {
  /** The pool's gauges, read at scrape time (0 once the pool is closed). */
  constructor(dataSource: DataSource, metrics: MetricsService) {
    const pool = (name: string, help: string, read: (pool: Pool) => number): void =>
      metrics.gauge(name, help, () => {
        const current = poolOf(dataSource);
        return current ? read(current) : 0;
      });
    pool('sync_db_pool_connections_in_use', 'Pool connections checked out', (p) =>
      Math.max(0, p.totalCount - p.idleCount),
    );
    pool('sync_db_pool_connections_idle', 'Pool connections open and idle', (p) => p.idleCount);
    pool(
      'sync_db_pool_waiting_requests',
      'Queries waiting for a pool connection',
      (p) => p.waitingCount,
    );
  }
}
