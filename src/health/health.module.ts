import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { MigrationModule } from '../migration/migration.module';
import { HealthController } from './health.controller';
import { HealthService } from './health.service';
import { ReadinessService } from './readiness.service';

@Module({
  // ReadinessService logs an outage once; terminus would log every failed check at error.
  imports: [TerminusModule.forRoot({ logger: false }), MigrationModule],
  controllers: [HealthController],
  providers: [HealthService, ReadinessService],
  // Features register the connections and listener state that `/health` reports.
  exports: [HealthService],
})
export class HealthModule {}
