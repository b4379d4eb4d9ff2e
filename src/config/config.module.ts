import { DynamicModule, Global, Module, Provider, Type } from '@nestjs/common';
import { AppConfig } from './app-config';

/**
 * Provides the configuration validated once in main.ts (or built by a test):
 * the AppConfig and each of its groups under its class, so consumers inject
 * `SyncConfig`, `DatabaseConfig`, ... by type.
 */
@Global()
@Module({})
export class ConfigModule {
  static forRoot(config: AppConfig): DynamicModule {
    const providers: Provider[] = [config, ...Object.values(config)].map((value: object) => ({
      provide: value.constructor as Type,
      useValue: value,
    }));
    return {
      module: ConfigModule,
      providers,
      exports: providers,
    };
  }
}
