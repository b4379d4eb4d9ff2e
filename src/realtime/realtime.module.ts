import { Module } from '@nestjs/common';
import { HealthModule } from '../health/health.module';
import { HealthService } from '../health/health.service';
import { MetricsService } from '../metrics/metrics.service';
import { ChangeFeedModule } from './change-feed.module';
import { NotificationListener } from './notification-listener';
import { SocketMemberships } from './socket-memberships';
import { SocketRegistry } from './socket-registry';
import { SocketSessions } from './socket-sessions.service';
import { SyncGateway } from './sync.gateway';
import { VisibilityGate } from './visibility-gate';

/**
 * Live delivery: the change feed (ChangeFeedModule), held back until visible
 * (VisibilityGate), and the WebSocket endpoints.
 */
@Module({
  imports: [HealthModule, ChangeFeedModule],
  providers: [SocketRegistry, SocketMemberships, SocketSessions, SyncGateway, VisibilityGate],
  exports: [ChangeFeedModule, SocketRegistry, VisibilityGate],
})
export class RealtimeModule {
  /** What `/health` and `/metrics` show of the sockets and the listener, registered by their owner. */
  constructor(
    sockets: SocketRegistry,
    listener: NotificationListener,
    health: HealthService,
    metrics: MetricsService,
  ) {
    health.registerSockets(() => ({
      websockets: sockets.connectionCount,
      authenticatedWebsockets: sockets.authenticatedCount,
      users: sockets.userCount,
    }));
    health.registerChangeListener(() => listener.listening);
    metrics.gauge(
      'sync_websocket_connections_open',
      'Open WebSocket connections',
      () => sockets.connectionCount,
    );
  }
}
