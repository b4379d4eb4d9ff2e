import { Global, Module } from '@nestjs/common';
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
@Global()
@Module({
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
export class RealtimeModule {}
