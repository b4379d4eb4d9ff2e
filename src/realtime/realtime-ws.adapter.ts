import type { INestApplicationContext } from '@nestjs/common';
import { WsAdapter } from '@nestjs/platform-ws';
import * as http from 'http';
import type { Duplex } from 'stream';
import type { WebSocket, WebSocketServer } from 'ws';

/** Handler name for frames that are not a known `{type}` message. */
export const UNKNOWN_MESSAGE = 'unknown-message';
/** The client messages of docs/protocol.md; the gateway has a handler for each. */
const CLIENT_MESSAGES = new Set(['auth', 'ping']);

type UpgradeListener = (request: http.IncomingMessage, socket: Duplex, head: Buffer) => void;

/**
 * Nest's `ws` adapter, fitted to the mana-sync protocol:
 * - messages are `{type, ...}` rather than Nest's `{event, data}`: `type`
 *   picks the handler, which gets the whole message;
 * - a gateway's path also serves one more path segment (`/ws/:appId`); the
 *   stock adapter only routes exact paths;
 * - per-socket errors (oversized or malformed frames) are the client's doing
 *   and logged at debug level, so a client cannot flood the error log.
 */
export class RealtimeWsAdapter extends WsAdapter {
  private readonly upgradeListeners = new Map<number, UpgradeListener>();

  constructor(app: INestApplicationContext) {
    super(app, { messageParser: parseClientMessage });
  }

  override bindErrorHandler(server: WebSocketServer): WebSocketServer {
    server.on('connection', (socket: WebSocket) =>
      socket.on('error', (error) => this.logger.debug(`socket error: ${error.message}`)),
    );
    server.on('error', (error) => this.logger.error(error));
    return server;
  }

  protected override ensureHttpServerExists(
    port: number,
    httpServer: http.Server = http.createServer(),
  ): http.Server | undefined {
    if (this.httpServersRegistry.has(port)) return undefined;
    this.httpServersRegistry.set(port, httpServer);
    const listener: UpgradeListener = (request, socket, head) => {
      let server: PathServer | undefined;
      try {
        const { pathname } = new URL(request.url ?? '/', 'ws://localhost');
        const servers = (this.wsServersRegistry.get(port) ?? []) as PathServer[];
        server = servers.find((candidate) => servesPath(candidate.path, pathname));
      } catch {
        // An unparsable request target: answered below like an unknown path.
      }
      if (!server) {
        socket.on('error', () => socket.destroy());
        socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
        return;
      }
      const target = server;
      target.handleUpgrade(request, socket, head, (ws) => target.emit('connection', ws, request));
    };
    httpServer.on('upgrade', listener);
    this.upgradeListeners.set(port, listener);
    return httpServer;
  }

  override async dispose(): Promise<void> {
    // The HTTP server is Nest's and outlives this adapter: take our listener off it.
    for (const [port, listener] of this.upgradeListeners) {
      this.httpServersRegistry.get(port)?.off('upgrade', listener);
    }
    this.upgradeListeners.clear();
    await super.dispose();
  }
}

/** The adapter registers each gateway's server with the path it serves. */
type PathServer = WebSocketServer & { path: string };

/** `/ws` serves `/ws` and `/ws/<one segment>`. */
function servesPath(base: string, pathname: string): boolean {
  if (pathname === base) return true;
  if (!pathname.startsWith(`${base}/`)) return false;
  return !pathname.slice(base.length + 1).includes('/');
}

/** `{type:'auth', token}` → handler `auth` with the message; anything else → UNKNOWN_MESSAGE. */
export function parseClientMessage(raw: string | Buffer | ArrayBuffer | Buffer[]): {
  event: string;
  data: unknown;
} {
  let message: unknown;
  try {
    message = JSON.parse(textOf(raw));
  } catch {
    return { event: UNKNOWN_MESSAGE, data: 'Message is not JSON' };
  }
  const type = (message as { type?: unknown } | null)?.type;
  if (typeof type !== 'string' || !CLIENT_MESSAGES.has(type)) {
    return { event: UNKNOWN_MESSAGE, data: 'Unknown message type' };
  }
  return { event: type, data: message };
}

function textOf(raw: string | Buffer | ArrayBuffer | Buffer[]): string {
  if (typeof raw === 'string') return raw;
  if (Array.isArray(raw)) return Buffer.concat(raw).toString('utf8');
  return Buffer.from(raw as ArrayBuffer).toString('utf8');
}
