import {
  ConnectedSocket,
  MessageBody,
  OnGatewayConnection,
  OnGatewayDisconnect,
  SubscribeMessage,
  WebSocketGateway,
} from '@nestjs/websockets';
import type { IncomingMessage } from 'http';
import type { WebSocket } from 'ws';
import { UNKNOWN_MESSAGE } from './realtime-ws.adapter';
import { SocketSessions, WS_PATH } from './socket-sessions.service';

/** Tokens are a few KB; nothing a client sends needs more. */
const MAX_CLIENT_MESSAGE_BYTES = 64 * 1024;

/**
 * `/ws` and `/ws/:appId` (docs/protocol.md). Thin: SocketSessions holds the rules.
 * Nest's global interceptors do not run for gateways, and nothing here opens
 * a transaction: sockets only carry "sync-available" hints.
 */
@WebSocketGateway({ path: WS_PATH, maxPayload: MAX_CLIENT_MESSAGE_BYTES })
export class SyncGateway implements OnGatewayConnection<WebSocket>, OnGatewayDisconnect<WebSocket> {
  constructor(private readonly sessions: SocketSessions) {}

  handleConnection(socket: WebSocket, request: IncomingMessage): void {
    this.sessions.open(socket, request.url ?? WS_PATH);
  }

  handleDisconnect(socket: WebSocket): void {
    this.sessions.close(socket);
  }

  @SubscribeMessage('auth')
  auth(@ConnectedSocket() socket: WebSocket, @MessageBody() message: unknown): Promise<void> {
    return this.sessions.authenticate(socket, message);
  }

  @SubscribeMessage('ping')
  ping(@ConnectedSocket() socket: WebSocket): void {
    this.sessions.pong(socket);
  }

  @SubscribeMessage(UNKNOWN_MESSAGE)
  unknown(@ConnectedSocket() socket: WebSocket, @MessageBody() reason: string): void {
    this.sessions.unknownMessage(socket, reason);
  }
}
