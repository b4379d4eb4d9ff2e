import { Injectable } from '@nestjs/common';
import type { WebSocket } from 'ws';
import { ChangeEvent } from './change-feed';

/** One WebSocket connection and what it has told us about itself. */
export interface SocketSession {
  socket: WebSocket;
  /** From `/ws/:appId`: only this app's changes; undefined on `/ws` (every app). */
  appId?: string;
  /** Set once the socket has authenticated. */
  userId?: string;
  /** Optional client id from the auth message: that client's own pushes are not echoed to it. */
  clientId?: string;
  /** False between a server ping and its pong. */
  alive: boolean;
  /** When it connected (ms since the epoch); the inspector's device list shows it. */
  connectedAt?: number;
}

interface ConnectedUser {
  sessions: Set<SocketSession>;
  spaceIds: readonly string[];
}

/**
 * Who is connected here, indexed for fan-out: a change finds its sockets
 * through the pushing user and the members of its spaces, never by scanning
 * every socket.
 */
@Injectable()
export class SocketRegistry {
  private readonly sessions = new Set<SocketSession>();
  private readonly users = new Map<string, ConnectedUser>();
  /** Space id → users connected here who are members of it. */
  private readonly members = new Map<string, Set<string>>();

  get connectionCount(): number {
    return this.sessions.size;
  }

  get userCount(): number {
    return this.users.size;
  }

  get authenticatedCount(): number {
    let count = 0;
    for (const user of this.users.values()) count += user.sessions.size;
    return count;
  }

  all(): SocketSession[] {
    return [...this.sessions];
  }

  userIds(): string[] {
    return [...this.users.keys()];
  }

  /** The user's authenticated sockets on this instance. */
  sessionsOf(userId: string): SocketSession[] {
    return [...(this.users.get(userId)?.sessions ?? [])];
  }

  add(session: SocketSession): void {
    this.sessions.add(session);
  }

  /** Marks the session as `userId`'s; a new lookup's `spaceIds` replace the user's previous ones. */
  authenticate(session: SocketSession, userId: string, spaceIds: readonly string[]): void {
    if (!this.sessions.has(session)) return;
    if (session.userId !== undefined && session.userId !== userId) this.unbind(session);
    session.userId = userId;
    let user = this.users.get(userId);
    if (!user) {
      user = { sessions: new Set(), spaceIds: [] };
      this.users.set(userId, user);
    }
    user.sessions.add(session);
    this.setSpaces(userId, spaceIds);
  }

  setSpaces(userId: string, spaceIds: readonly string[]): void {
    const user = this.users.get(userId);
    if (!user) return;
    for (const spaceId of user.spaceIds) this.leave(spaceId, userId);
    user.spaceIds = [...new Set(spaceIds)];
    for (const spaceId of user.spaceIds) {
      let members = this.members.get(spaceId);
      if (!members) this.members.set(spaceId, (members = new Set()));
      members.add(userId);
    }
  }

  remove(session: SocketSession): void {
    if (!this.sessions.delete(session)) return;
    this.unbind(session);
  }

  /** Sockets to tell about a committed change: the pusher's and its spaces' members', on that app. */
  /** The spaces a connected user's sockets are told of (none when not connected). */
  spaceIdsOf(userId: string): readonly string[] {
    return this.users.get(userId)?.spaceIds ?? [];
  }

  recipients(event: ChangeEvent): SocketSession[] {
    const userIds = new Set([event.userId]);
    for (const spaceId of event.spaceIds) {
      for (const userId of this.members.get(spaceId) ?? []) userIds.add(userId);
    }
    const result: SocketSession[] = [];
    for (const userId of userIds) {
      for (const session of this.users.get(userId)?.sessions ?? []) {
        if (session.appId !== undefined && session.appId !== event.appId) continue;
        const ownPush =
          session.clientId !== undefined &&
          session.clientId === event.clientId &&
          session.userId === event.userId;
        if (!ownPush) result.push(session);
      }
    }
    return result;
  }

  private unbind(session: SocketSession): void {
    const userId = session.userId;
    const user = userId === undefined ? undefined : this.users.get(userId);
    if (!user || !user.sessions.delete(session) || user.sessions.size > 0) return;
    for (const spaceId of user.spaceIds) this.leave(spaceId, userId!);
    this.users.delete(userId!);
  }

  private leave(spaceId: string, userId: string): void {
    const members = this.members.get(spaceId);
    if (!members) return;
    members.delete(userId);
    if (members.size === 0) this.members.delete(spaceId);
  }
}
