import { Global, Module } from '@nestjs/common';
import { MetricsController } from './metrics.controller';
import { MetricsService } from './metrics.service';
import { MetricsTokenGuard } from './metrics-token.guard';
import { StateGauges } from './state-gauges';

/** `GET /metrics`; MetricsService is global so any module can count what it does. */
@Global()
@Module({
  controllers: [MetricsController],
  providers: [MetricsService, StateGauges, MetricsTokenGuard],
  exports: [MetricsService],
})
export class MetricsModule {}
