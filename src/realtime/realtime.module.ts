import { Module } from '@nestjs/common';
import { HealthModule } from '../health/health.module';
import { HealthService } from '../health/health.service';
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
  /** What `/health` shows of the sockets and the listener (RealtimeMetrics counts sockets for `/metrics`). */
  constructor(sockets: SocketRegistry, listener: NotificationListener, health: HealthService) {
    health.registerSockets(() => ({
      websockets: sockets.connectionCount,
      authenticatedWebsockets: sockets.authenticatedCount,
      users: sockets.userCount,
    }));
    health.registerChangeListener(() => listener.listening);
  }
}
