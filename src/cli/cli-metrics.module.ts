import { Global, Module } from '@nestjs/common';
import { MetricsService } from '../metrics/metrics.service';

/** A command counts into a registry of its own: nothing scrapes it. */
@Global()
@Module({ providers: [MetricsService], exports: [MetricsService] })
export class CliMetricsModule {}
