import { Global, INestApplicationContext, Module, ModuleMetadata } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { AppConfig } from '../config/app-config';
import { ConfigModule } from '../config/config.module';
import { MetricsService } from '../metrics/metrics.service';
import { MigrationModule } from '../migration/migration.module';
import { StoreModule } from '../store/store.module';

/** A command counts into a registry of its own: nothing scrapes it. */
@Global()
@Module({ providers: [MetricsService], exports: [MetricsService] })
class CliMetricsModule {}

/** What every command boots (config, store, migrations, that registry), and no HTTP. */
@Module({})
class CliModule {}

/** A command's application context: the common part and the modules the command needs. */
export function createCliContext(
  config: AppConfig,
  needs: { imports?: ModuleMetadata['imports'] },
): Promise<INestApplicationContext> {
  return NestFactory.createApplicationContext(
    {
      module: CliModule,
      imports: [
        ConfigModule.forRoot(config),
        StoreModule,
        MigrationModule,
        CliMetricsModule,
        ...(needs.imports ?? []),
      ],
    },
    { logger: ['error', 'warn'], abortOnError: false },
  );
}
