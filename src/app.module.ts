import { DynamicModule, Module } from '@nestjs/common';
import { AppConfig } from './config/app-config';
import { ConfigModule } from './config/config.module';
import { AuthModule } from './auth/auth.module';
import { HealthModule } from './health/health.module';
import { MigrationModule } from './migration/migration.module';
import { RealtimeModule } from './realtime/realtime.module';
import { StoreModule } from './store/store.module';
import { SyncModule } from './sync/sync.module';

@Module({})
export class AppModule {
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot(config),
        StoreModule,
        MigrationModule,
        AuthModule,
        HealthModule,
        RealtimeModule,
        SyncModule,
      ],
    };
  }
}
