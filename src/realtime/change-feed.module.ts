import { Module } from '@nestjs/common';
import { ChangeFeed } from './change-feed';
import { HintRelay } from './hint-relay';
import { HorizonMonitor } from './horizon-monitor';
import { HorizonMetrics } from './horizon.metrics';
import { LogSweep } from './log-sweep';
import { NotificationListener } from './notification-listener';
import { PostgresHintRelay } from './postgres-hint-relay';
import { RealtimeMetrics } from './realtime.metrics';

/**
 * Commits turned into hints (ChangeFeed): to this instance's listeners, and through the
 * HintRelay to and from the other instances, with the log sweep under them. The service
 * imports it through RealtimeModule; `npm run backup` imports it alone, so an import's
 * hints reach running instances.
 */
@Module({
  providers: [
    NotificationListener,
    { provide: HintRelay, useClass: PostgresHintRelay },
    HorizonMetrics,
    HorizonMonitor,
    LogSweep,
    RealtimeMetrics,
    ChangeFeed,
  ],
  exports: [ChangeFeed, NotificationListener, HorizonMonitor, RealtimeMetrics],
})
export class ChangeFeedModule {}
