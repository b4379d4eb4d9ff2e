import { Global, Module } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { ChangeRepository } from './change.repository';
import { IdempotencyRepository } from './idempotency.repository';
import { Database } from './database';
import { DatabaseProbe } from './database-probe';
import { RlsStartupCheck } from './rls-startup.check';
import { RlsTransactionInterceptor } from './rls-transaction.interceptor';
import { RlsTransactionRunner } from './rls-transaction.runner';
import { TransactionHost } from './transaction-host';

@Global()
@Module({
  providers: [
    { provide: Database, inject: [APP_CONFIG], useFactory: (c: AppConfig) => Database.open(c) },
    { provide: DataSource, inject: [Database], useFactory: (db: Database) => db.dataSource },
    TransactionHost,
    RlsTransactionRunner,
    RlsTransactionInterceptor,
    RlsStartupCheck,
    ChangeRepository,
    IdempotencyRepository,
    DatabaseProbe,
  ],
  exports: [
    DataSource,
    TransactionHost,
    RlsTransactionRunner,
    RlsTransactionInterceptor,
    ChangeRepository,
    IdempotencyRepository,
    DatabaseProbe,
  ],
})
export class StoreModule {}
