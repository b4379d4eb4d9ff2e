import { Module } from '@nestjs/common';
import { HealthModule } from '../health/health.module';
import { HealthService } from '../health/health.service';
import { MetricsService } from '../metrics/metrics.service';
import { ChangeBus } from './change-bus';
import { ChangeNotificationRepository } from './change-notification.repository';
import { HorizonMonitor } from './horizon-monitor';
import { NotificationListener } from './notification-listener';
import { PostgresChangeBus } from './postgres-change-bus';
import { SocketMemberships } from './socket-memberships';
import { SocketRegistry } from './socket-registry';
import { SocketSessions } from './socket-sessions.service';
import { SyncGateway } from './sync.gateway';
import { VisibilityGate } from './visibility-gate';
import { HorizonRepository } from '../store/horizon.repository';

/**
 * Change fan-out across instances (LISTEN/NOTIFY), held back until visible
 * (VisibilityGate), and the WebSocket endpoints.
 */
@Module({
  imports: [HealthModule],
  providers: [
    ChangeNotificationRepository,
    NotificationListener,
    { provide: ChangeBus, useClass: PostgresChangeBus },
    SocketRegistry,
    SocketMemberships,
    SocketSessions,
    SyncGateway,
    HorizonRepository,
    HorizonMonitor,
    VisibilityGate,
  ],
  exports: [ChangeBus, SocketRegistry, NotificationListener, VisibilityGate, HorizonMonitor],
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
