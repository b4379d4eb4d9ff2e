import { Module } from '@nestjs/common';
import { HealthModule } from '../health/health.module';
import { HealthService } from '../health/health.service';
import { MetricsService } from '../metrics/metrics.service';
import { RealtimeModule } from '../realtime/realtime.module';
import { SyncStreamService } from './sync-stream.service';
import { SyncController } from './sync.controller';
import { SyncService } from './sync.service';

@Module({
  imports: [HealthModule, RealtimeModule],
  controllers: [SyncController],
  providers: [SyncService, SyncStreamService],
  exports: [SyncStreamService],
})
export class SyncModule {
  /** The open SSE streams, as `/health` and `/metrics` show them. */
  constructor(streams: SyncStreamService, health: HealthService, metrics: MetricsService) {
    health.registerSseStreams(() => streams.openStreams);
    metrics.gauge(
      'sync_sse_streams_open',
      'Open server-sent-event streams',
      () => streams.openStreams,
    );
  }
}
