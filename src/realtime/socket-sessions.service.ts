import {
  BeforeApplicationShutdown,
  Injectable,
  Logger,
  OnApplicationBootstrap,
} from '@nestjs/common';
import type { WebSocket } from 'ws';
import { AuthService } from '../auth/auth.service';
import { UnavailableError } from '../common/errors/domain-errors';
import { RealtimeConfig } from '../config/app-config';
import { isAppId, MAX_CLIENT_ID_LENGTH } from '../common/wire-rules';
import { ChangeEvent } from './change-feed';
import { SocketMemberships } from './socket-memberships';
import { RealtimeMetrics } from './realtime.metrics';
import { SocketRegistry, SocketSession } from './socket-registry';
import { ReaderFilter, VisibilityGate } from './visibility-gate';
import { errorMessage } from '../common/error-message';

/** The path the gateway serves; `<path>/<appId>` narrows a socket to one app. */
export const WS_PATH = '/ws';

export const CLOSE_GOING_AWAY = 1001;
export const CLOSE_POLICY_VIOLATION = 1008;
export const CLOSE_INTERNAL_ERROR = 1011;
export const CLOSE_TRY_AGAIN_LATER = 1013;

/** How long shutdown waits for clients to answer the close handshake before cutting them off. */
const SHUTDOWN_GRACE_MS = 1_000;
const OPEN = 1;
const CLOSED = 3;

export type ServerMessage =
  | { type: 'auth-ok' }
  | { type: 'pong' }
  | { type: 'error'; message: string }
  | { type: 'sync-available'; appId: string; tables: string[] };

/**
 * The WebSocket protocol's rules (docs/protocol.md): authenticate within the
 * deadline, answer pings, tell each socket when a push concerns it. Sends
 * never wait: a socket whose output piles up beyond WS_MAX_BUFFERED_BYTES, or
 * that misses a heartbeat, is terminated so it cannot hold memory or others up.
 */
@Injectable()
export class SocketSessions implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('WebSocket');
  private readonly sessions = new Map<WebSocket, SocketSession>();
  private readonly deadlines = new Map<SocketSession, NodeJS.Timeout>();
  private heartbeat?: NodeJS.Timeout;
  private unsubscribe?: () => void;
  private closing = false;

  constructor(
    private readonly registry: SocketRegistry,
    private readonly memberships: SocketMemberships,
    private readonly auth: AuthService,
    private readonly gate: VisibilityGate,
    private readonly config: RealtimeConfig,
    private readonly metrics: RealtimeMetrics,
  ) {
    metrics.countOpenSockets(() => registry.connectionCount);
  }

  onApplicationBootstrap(): void {
    this.heartbeat = setInterval(() => this.beat(), this.config.pingIntervalMs).unref();
  }

  /** A new connection on `path` (`/ws` or `/ws/:appId`); it has WS_AUTH_TIMEOUT_MS to authenticate. */
  open(socket: WebSocket, path: string): void {
    if (this.closing) return socket.close(CLOSE_GOING_AWAY, 'Server shutting down');
    const appId = this.appIdOf(path);
    if (appId === null) return socket.close(CLOSE_POLICY_VIOLATION, 'Invalid appId');
    const session: SocketSession = { socket, appId, alive: true, connectedAt: Date.now() };
    this.sessions.set(socket, session);
    this.registry.add(session);
    socket.on('pong', () => (session.alive = true));
    const deadline = setTimeout(() => {
      this.deadlines.delete(session);
      if (session.userId === undefined)
        socket.close(CLOSE_POLICY_VIOLATION, 'Authentication timeout');
    }, this.config.authTimeoutMs);
    this.deadlines.set(session, deadline);
  }

  /** The connection is gone (closed, terminated or failed). */
  close(socket: WebSocket): void {
    const session = this.sessions.get(socket);
    if (!session) return;
    this.sessions.delete(socket);
    clearTimeout(this.deadlines.get(session));
    this.deadlines.delete(session);
    this.registry.remove(session);
    this.updateSubscription();
  }

  /** `{type:'auth', token, clientId?}`: verified like an HTTP bearer token. */
  async authenticate(socket: WebSocket, message: unknown): Promise<void> {
    const session = this.sessions.get(socket);
    if (!session) return;
    const { token, clientId } = (message ?? {}) as { token?: unknown; clientId?: unknown };
    if (typeof token !== 'string' || token === '') {
      return this.refuse(session, 'auth needs a token', CLOSE_POLICY_VIOLATION);
    }
    // The message came in time; verification itself is bounded by the JWKS timeout.
    clearTimeout(this.deadlines.get(session));
    this.deadlines.delete(session);
    try {
      let userId: string;
      try {
        userId = await this.auth.verify(token);
      } catch (error) {
        const unavailable = error instanceof UnavailableError;
        const reason = error instanceof Error ? error.message : 'Invalid token';
        return this.refuse(
          session,
          reason,
          unavailable ? CLOSE_TRY_AGAIN_LATER : CLOSE_POLICY_VIOLATION,
        );
      }
      const spaceIds = await this.memberships.spaceIdsOf(userId);
      if (this.sessions.get(socket) !== session || socket.readyState !== OPEN) return;
      // Same bound as a push's clientId; anything else is ignored (the socket is then told of its own pushes).
      const named =
        typeof clientId === 'string' && clientId !== '' && clientId.length <= MAX_CLIENT_ID_LENGTH;
      session.clientId = named ? clientId : undefined;
      this.registry.authenticate(session, userId, spaceIds);
      this.updateSubscription();
      this.send(session, { type: 'auth-ok' });
    } catch (error) {
      this.logger.error(`socket authentication failed: ${errorMessage(error)}`);
      this.refuse(session, 'Internal error', CLOSE_INTERNAL_ERROR);
    }
  }

  pong(socket: WebSocket): void {
    const session = this.sessions.get(socket);
    if (session) this.send(session, { type: 'pong' });
  }

  /** A message that is not part of the protocol: said so, the socket stays open. */
  unknownMessage(socket: WebSocket, reason: string): void {
    const session = this.sessions.get(socket);
    if (session) this.send(session, { type: 'error', message: reason });
  }

  /** Sends without waiting; a consumer too slow to take its output is cut off instead. */
  /** False when the socket was closed or, being too slow, terminated instead. */
  send(session: SocketSession, message: ServerMessage): boolean {
    const { socket } = session;
    if (socket.readyState !== OPEN) return false;
    if (socket.bufferedAmount > this.config.maxBufferedBytes) {
      this.logger.warn(`terminating a slow socket (${socket.bufferedAmount} bytes unsent)`);
      socket.terminate();
      return false;
    }
    socket.send(JSON.stringify(message));
    return true;
  }

  /** Closes every socket with 1001 before the server goes, giving clients a moment to answer. */
  async beforeApplicationShutdown(): Promise<void> {
    this.closing = true;
    clearInterval(this.heartbeat);
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    for (const deadline of this.deadlines.values()) clearTimeout(deadline);
    this.deadlines.clear();
    const sockets = [...this.sessions.keys()];
    const closed = sockets.map(
      (socket) =>
        new Promise<void>((resolve) => {
          if (socket.readyState === CLOSED) return resolve();
          socket.once('close', () => resolve());
          socket.close(CLOSE_GOING_AWAY, 'Server shutting down');
        }),
    );
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.all(closed),
      new Promise((resolve) => (timer = setTimeout(resolve, SHUTDOWN_GRACE_MS))),
    ]);
    clearTimeout(timer);
    for (const socket of sockets) if (socket.readyState !== CLOSED) socket.terminate();
  }

  private refuse(session: SocketSession, message: string, code: number): void {
    this.send(session, { type: 'error', message });
    // A close reason is at most 123 bytes: keep it ASCII and short.
    session.socket.close(code, message.replace(/[^\x20-\x7e]/g, '?').slice(0, 120));
  }

  /** `/ws` → every app (undefined); `/ws/<appId>` → that app; anything else → null. */
  private appIdOf(path: string): string | undefined | null {
    try {
      const { pathname } = new URL(path, 'ws://localhost');
      const rest = pathname.slice(WS_PATH.length).replace(/^\/|\/$/g, '');
      if (rest === '') return undefined;
      const appId = decodeURIComponent(rest);
      return isAppId(appId) ? appId : null;
    } catch {
      return null;
    }
  }

  /**
   * Subscribed only while someone here listens: no work per push otherwise. Through the
   * gate, so a hint arrives only once the pull it prompts can see the change.
   */
  private updateSubscription(): void {
    const wanted = this.registry.userCount > 0 && !this.closing;
    if (wanted && !this.unsubscribe) {
      this.unsubscribe = this.gate.subscribe((event, tell) => this.notify(event, tell));
    } else if (!wanted && this.unsubscribe) {
      this.unsubscribe();
      this.unsubscribe = undefined;
    }
  }

  private notify(event: ChangeEvent, tell: ReaderFilter): void {
    const message: ServerMessage = {
      type: 'sync-available',
      appId: event.appId,
      tables: event.tables,
    };
    let sent = 0;
    for (const session of this.registry.recipients(event)) {
      // Only sockets whose pull can see it now (the horizon of their user's scopes passed it).
      const userId = session.userId!;
      if (tell(userId, this.registry.spaceIdsOf(userId)) && this.send(session, message)) sent++;
    }
    if (sent > 0) this.metrics.notificationsSent('websocket', sent);
  }

  /** Terminates sockets that did not answer the last ping (or sit on a full buffer), pings the rest. */
  private beat(): void {
    for (const session of this.registry.all()) {
      const { socket } = session;
      if (socket.readyState !== OPEN) continue;
      if (!session.alive || socket.bufferedAmount > this.config.maxBufferedBytes) {
        socket.terminate();
        continue;
      }
      session.alive = false;
      socket.ping();
    }
  }
}
