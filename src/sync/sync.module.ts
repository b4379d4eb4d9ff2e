import { Module } from '@nestjs/common';
import { HealthModule } from '../health/health.module';
import { HealthService } from '../health/health.service';
import { RealtimeModule } from '../realtime/realtime.module';
import { SyncStreamService } from './sync-stream.service';
import { SyncController } from './sync.controller';
import { SyncMetrics } from './sync.metrics';
import { SyncService } from './sync.service';

@Module({
  imports: [HealthModule, RealtimeModule],
  controllers: [SyncController],
  providers: [SyncService, SyncStreamService, SyncMetrics],
  exports: [SyncStreamService],
})
export class SyncModule {
  /** The open SSE streams, as `/health` shows them (SyncMetrics counts them for `/metrics`). */
  constructor(streams: SyncStreamService, health: HealthService) {
    health.registerSseStreams(() => streams.openStreams);
  }
}
