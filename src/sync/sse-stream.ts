import { Logger } from '@nestjs/common';
import type { Response } from 'express';
import { AuthenticatedUser } from '../auth/authenticated-user';
import { JsonText } from '../common/json-text';
import { ChangeEvent } from '../realtime/change-feed';
import { RealtimeMetrics } from '../realtime/realtime.metrics';
import { ReaderFilter, VisibilityGate } from '../realtime/visibility-gate';
import { MembershipProvider } from '../spaces/membership-provider';
import { RlsTransactionRunner } from '../store/rls-transaction.runner';
import { parseSince, SyncCursor } from './sync-cursor';
import { SyncService } from './sync.service';
import { changesEventText } from './wire-page';
import { errorMessage } from '../common/error-message';

export interface StreamRequest {
  user: AuthenticatedUser;
  appId: string;
  collections: string[];
  since: SyncCursor;
  clientId?: string;
}

/** An open stream as the inspector lists it. */
export interface OpenStream {
  userId: string;
  appId: string;
  clientId?: string;
  collections: string[];
  openedAt: number;
}

/** What a stream reads through and listens to; the same for every stream of the process. */
export interface SseStreamDeps {
  sync: SyncService;
  runner: RlsTransactionRunner;
  gate: VisibilityGate;
  memberships: MembershipProvider;
  metrics: RealtimeMetrics;
  logger: Logger;
  heartbeatMs: number;
  membershipRefreshMs: number;
}

/**
 * One open SSE stream: a cursor per collection, the collections a notification
 * has made due, and one chain of work (catch-up, reads, heartbeats) so that
 * events are written in order. Ends on `close()`, a failed read or the client
 * going away; `onClose` runs once.
 */
export class SseStream {
  /** When it opened (ms since the epoch). */
  readonly openedAt = Date.now();
  private readonly cursors: Map<string, SyncCursor>;
  private readonly pending = new Set<string>();
  /** Replaced by each membership refresh; every read and every notification uses the current one. */
  private user: AuthenticatedUser;
  private closed = false;
  private chain = Promise.resolve();
  private readonly unsubscribe: () => void;
  private readonly unsubscribeResync: () => void;
  private readonly heartbeat: NodeJS.Timeout;
  private readonly membershipRefresh: NodeJS.Timeout;

  constructor(
    private readonly request: StreamRequest,
    private readonly res: Response,
    private readonly deps: SseStreamDeps,
    private readonly onClose: () => void,
  ) {
    this.cursors = new Map(request.collections.map((table) => [table, request.since]));
    this.user = request.user;
    this.unsubscribe = deps.gate.subscribe((event, tell) => this.onChange(event, tell));
    this.unsubscribeResync = deps.gate.onResync(() => this.onResync());
    this.heartbeat = setInterval(() => {
      this.schedule(() =>
        this.send(
          'heartbeat',
          new JsonText(JSON.stringify({ time: new Date().toISOString() }), [], ''),
        ),
      );
    }, deps.heartbeatMs);
    this.membershipRefresh = setInterval(
      () => void this.refreshMemberships(),
      deps.membershipRefreshMs,
    );
  }

  /** Whose stream it is and what it follows, for the inspector's device list. */
  get description(): OpenStream {
    const { user, appId, clientId, collections } = this.request;
    return { userId: user.userId, appId, clientId, collections, openedAt: this.openedAt };
  }

  /** Begins with a catch-up of every requested collection. */
  start(): void {
    this.res.on('close', this.close);
    this.schedule(async () => {
      for (const table of this.request.collections) await this.catchUp(table, true);
    });
  }

  readonly close = (): void => {
    if (this.closed) return;
    this.closed = true;
    this.onClose();
    this.unsubscribe();
    this.unsubscribeResync();
    clearInterval(this.heartbeat);
    clearInterval(this.membershipRefresh);
    this.res.end();
  };

  private drained(): Promise<void> {
    return new Promise<void>((resolve) => {
      // Both listeners go once either fires: a long stream waits for drain many times.
      const done = (): void => {
        this.res.off('drain', done);
        this.res.off('close', done);
        resolve();
      };
      this.res.once('drain', done);
      this.res.once('close', done);
    });
  }

  /** One event; its data is written chunk by chunk (the changes are the store's JSON text). */
  private async send(event: string, data: JsonText): Promise<void> {
    for (const chunk of data.framed(`event: ${event}\ndata: `, '\n\n').chunks()) {
      if (this.closed) return;
      if (!this.res.write(chunk)) await this.drained();
    }
  }

  /** Reads a collection until it is caught up (the gate told of nothing the read cannot see). */
  private async catchUp(table: string, always: boolean): Promise<void> {
    // The opening catch-up, and any page after a full one, may be large: read by COPY. A
    // notification's read is mostly a few rows, where the prepared statement is cheaper.
    let copy = always;
    while (!this.closed) {
      const { page } = await this.deps.runner.runAsUser(this.user, () =>
        this.deps.sync.read(
          {
            appId: this.request.appId,
            table,
            since: this.cursors.get(table)!,
            clientId: this.request.clientId,
          },
          { copy },
        ),
      );
      copy = true;
      this.cursors.set(table, parseSince(page.syncedUntil));
      if (always || page.count > 0) {
        await this.send('changes', changesEventText(table, page));
        // Live events are the stream's notifications; the catch-up is not.
        if (!always) this.deps.metrics.notificationsSent('sse');
      }
      if (!page.hasMore) return;
    }
  }

  private schedule(work: () => Promise<void>): void {
    this.chain = this.chain.then(work).catch((error: unknown) => {
      this.deps.logger.warn(`stream read failed: ${errorMessage(error)}`);
      this.close();
    });
  }

  private readonly drainPending = async (): Promise<void> => {
    const due = [...this.pending];
    this.pending.clear();
    for (const table of due) await this.catchUp(table, false);
  };

  private onChange(event: ChangeEvent, tell: ReaderFilter): void {
    if (this.closed || !this.concerns(event)) return;
    // Told once the horizon of this reader's scopes passed the event (VisibilityGate).
    if (!tell(this.user.userId, this.user.spaceIds)) return;
    const wasIdle = this.pending.size === 0;
    // No tables: the notification was too large to name them, so any collection may have changed.
    const tables = event.tables.length > 0 ? event.tables : [...this.cursors.keys()];
    for (const table of tables) if (this.cursors.has(table)) this.pending.add(table);
    if (wasIdle && this.pending.size > 0) this.schedule(this.drainPending);
  }

  /** Notifications may have been lost (LISTEN was down): every collection is read again. */
  private onResync(): void {
    if (this.closed) return;
    const wasIdle = this.pending.size === 0;
    for (const table of this.cursors.keys()) this.pending.add(table);
    if (wasIdle) this.schedule(this.drainPending);
  }

  /** A failed lookup keeps what was known, as for sockets. */
  private async refreshMemberships(): Promise<void> {
    const result = await this.deps.memberships
      .membershipsOf(this.user.userId)
      .catch(() => undefined);
    if (this.closed || !result?.available) return;
    this.user = { ...this.user, spaceIds: result.spaceIds, membershipsAvailable: true };
  }

  /** Another client's push, to this user or to one of their (current) spaces, in this app. */
  private concerns(event: ChangeEvent): boolean {
    const { appId, clientId } = this.request;
    if (event.appId !== appId) return false;
    if (clientId !== undefined && event.clientId === clientId) return false;
    const user = this.user;
    return event.userId === user.userId || event.spaceIds.some((id) => user.spaceIds.includes(id));
  }
}
