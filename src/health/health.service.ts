import { Injectable } from '@nestjs/common';

/** The WebSocket side of `connections`, as the realtime module counts it. */
export interface SocketCounts {
  /** Open WebSockets, authenticated or not. */
  websockets: number;
  authenticatedWebsockets: number;
  /** Distinct users with an authenticated WebSocket here. */
  users: number;
}

export interface HealthReport {
  status: 'ok';
  service: 'sync-server';
  connections: SocketCounts & { sseStreams: number };
  /** Whether this instance hears other instances' pushes right now. */
  changeListener: 'listening' | 'reconnecting';
}

const NO_SOCKETS: SocketCounts = { websockets: 0, authenticatedWebsockets: 0, users: 0 };

/**
 * Liveness plus what this instance holds; never touches the database. The
 * features that hold sockets, streams and the change listener register how to
 * read them, so health never reaches into a feature.
 */
@Injectable()
export class HealthService {
  private sockets: () => SocketCounts = () => NO_SOCKETS;
  private sseStreams: () => number = () => 0;
  /** Without a listener there is nothing to hear, so nothing is missed. */
  private listening: () => boolean = () => true;

  registerSockets(read: () => SocketCounts): void {
    this.sockets = read;
  }

  registerSseStreams(read: () => number): void {
    this.sseStreams = read;
  }

  registerChangeListener(listening: () => boolean): void {
    this.listening = listening;
  }

  /** Whether this instance hears other instances' pushes right now (readiness checks it too). */
  get changeListenerUp(): boolean {
    return this.listening();
  }

  report(): HealthReport {
    return {
      status: 'ok',
      service: 'sync-server',
      connections: { ...this.sockets(), sseStreams: this.sseStreams() },
      changeListener: this.changeListenerUp ? 'listening' : 'reconnecting',
    };
  }
}
