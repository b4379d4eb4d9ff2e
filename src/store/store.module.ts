import { Global, Module } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { DatabaseConfig } from '../config/app-config';
import { ChangeLog } from './change-log';
import { ChangeRepository } from './change.repository';
import { CommittedLogRepository } from './committed-log.repository';
import { HorizonRepository } from './horizon.repository';
import { IdempotencyRepository } from './idempotency.repository';
import { Database } from './database';
import { DatabaseProbe } from './database-probe';
import { RlsStartupCheck } from './rls-startup.check';
import { RlsTransactionRunner } from './rls-transaction.runner';
import { StoreMetrics } from './store.metrics';
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
    RlsStartupCheck,
    ChangeRepository,
    ChangeLog,
    CommittedLogRepository,
    HorizonRepository,
    IdempotencyRepository,
    DatabaseProbe,
    StoreMetrics,
  ],
  exports: [
    DataSource,
    TransactionHost,
    RlsTransactionRunner,
    ChangeRepository,
    ChangeLog,
    CommittedLogRepository,
    HorizonRepository,
    IdempotencyRepository,
    DatabaseProbe,
  ],
})
export class StoreModule {}
