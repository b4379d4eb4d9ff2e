import { Injectable } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { AppConfig, DatabaseConfig, loadConfig, RealtimeConfig, SyncConfig } from './app-config';
import { ConfigModule } from './config.module';

@Injectable()
class Consumer {
  constructor(
    readonly sync: SyncConfig,
    readonly database: DatabaseConfig,
    readonly realtime: RealtimeConfig,
    readonly all: AppConfig,
  ) {}
}

describe('ConfigModule', () => {
  it('provides the configuration and each of its groups by type, without @Inject', async () => {
    const config = loadConfig({ SYNC_PAGE_SIZE: '10', DB_POOL_SIZE: '3' });
    const context = await NestFactory.createApplicationContext(
      { module: class Root {}, imports: [ConfigModule.forRoot(config)], providers: [Consumer] },
      { logger: false },
    );
    try {
      const consumer = context.get(Consumer);
      expect(consumer.all).toBe(config);
      expect(consumer.sync).toBe(config.sync);
      expect(consumer.sync.pageSize).toBe(10);
      expect(consumer.database.poolSize).toBe(3);
      expect(consumer.realtime).toBe(config.realtime);
      for (const group of Object.values(config)) {
        expect(context.get(group.constructor)).toBe(group);
      }
    } finally {
      await context.close();
    }
  });
});
