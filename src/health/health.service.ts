import { Injectable } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { NotificationListener } from '../realtime/notification-listener';
import { SocketRegistry } from '../realtime/socket-registry';
import { SyncStreamService } from '../sync/sync-stream.service';

export interface HealthReport {
  status: 'ok';
  service: 'sync-server';
  connections: {
    /** Open WebSockets, authenticated or not. */
    websockets: number;
    authenticatedWebsockets: number;
    /** Distinct users with an authenticated WebSocket here. */
    users: number;
    sseStreams: number;
  };
  /** Whether this instance hears other instances' pushes right now. */
  changeListener: 'listening' | 'reconnecting';
}

/** Liveness plus what this instance holds; never touches the database. */
@Injectable()
export class HealthService {
  private streams?: SyncStreamService;

  constructor(
    private readonly sockets: SocketRegistry,
    private readonly listener: NotificationListener,
    private readonly moduleRef: ModuleRef,
  ) {}

  report(): HealthReport {
    return {
      status: 'ok',
      service: 'sync-server',
      connections: {
        websockets: this.sockets.connectionCount,
        authenticatedWebsockets: this.sockets.authenticatedCount,
        users: this.sockets.userCount,
        sseStreams: this.sseStreams().openStreams,
      },
      changeListener: this.listener.listening ? 'listening' : 'reconnecting',
    };
  }

  /** SyncModule keeps its stream service to itself; it is looked up across modules once. */
  private sseStreams(): SyncStreamService {
    this.streams ??= this.moduleRef.get(SyncStreamService, { strict: false });
    return this.streams;
  }
}
