import { INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { DataSource } from 'typeorm';
import { AppModule } from '../../src/app.module';
import { loadConfig } from '../../src/config/app-config';
import { ChangeRepository, NewChange } from '../../src/store/change.repository';
import { RlsTransactionRunner } from '../../src/store/rls-transaction.runner';

export interface StoreContext {
  context: INestApplicationContext;
  runner: RlsTransactionRunner;
  changes: ChangeRepository;
  dataSource: DataSource;
  close(): Promise<void>;
}

/** The service's store (DI container, no HTTP) on a test database: connects exactly as the service does. */
export async function createStoreContext(
  url: string,
  env: Record<string, string> = {},
): Promise<StoreContext> {
  const config = loadConfig({ DATABASE_URL: url, DB_MIGRATE_ON_START: 'false', ...env });
  const context = await NestFactory.createApplicationContext(AppModule.forRoot(config), {
    logger: ['error'],
    abortOnError: false,
  });
  await context.init();
  return {
    context,
    runner: context.get(RlsTransactionRunner),
    changes: context.get(ChangeRepository),
    dataSource: context.get(DataSource),
    close: () => context.close(),
  };
}

let counter = 0;

/** A plausible change; override what the test is about. */
export function newChange(overrides: Partial<NewChange> = {}): NewChange {
  counter++;
  return {
    appId: 'todo',
    tableName: 'tasks',
    recordId: `rec-${counter}`,
    spaceId: null,
    op: 'insert',
    data: { title: `Task ${counter}`, done: false },
    fieldMeta: {},
    clientId: 'client-a',
    schemaVersion: 1,
    actor: null,
    origin: null,
    ...overrides,
  };
}
