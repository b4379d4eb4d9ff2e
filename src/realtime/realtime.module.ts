import { Global, Module } from '@nestjs/common';
import { ChangeBus } from './change-bus';
import { ChangeNotificationRepository } from './change-notification.repository';
import { NotificationListener } from './notification-listener';
import { PostgresChangeBus } from './postgres-change-bus';
import { SocketMemberships } from './socket-memberships';
import { SocketRegistry } from './socket-registry';
import { SocketSessions } from './socket-sessions.service';
import { SyncGateway } from './sync.gateway';

/** Change fan-out across instances (LISTEN/NOTIFY) and the WebSocket endpoints. */
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
  ],
  exports: [ChangeBus, SocketRegistry, NotificationListener],
})
export class RealtimeModule {}
