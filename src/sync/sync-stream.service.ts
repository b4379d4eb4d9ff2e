import { BeforeApplicationShutdown, Inject, Injectable, Logger } from '@nestjs/common';
import type { Response } from 'express';
import { AuthenticatedUser } from '../auth/authenticated-user';
import { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { MetricsService } from '../metrics/metrics.service';
import { ChangeEvent } from '../realtime/change-bus';
import { VisibilityGate } from '../realtime/visibility-gate';
import { MembershipProvider } from '../spaces/membership-provider';
import { RlsTransactionRunner } from '../store/rls-transaction.runner';
import { JsonText } from '../common/json-text';
import { parseSince, SyncCursor } from './sync-cursor';
import { SyncService } from './sync.service';
import { changesEventText } from './wire-page';

export interface StreamRequest {
  user: AuthenticatedUser;
  appId: string;
  collections: string[];
  since: SyncCursor;
  clientId?: string;
}

/**
 * Server-sent events: a catch-up of every requested collection, then a
 * `changes` event whenever another client's push touches one of them. Each
 * read is its own short RLS transaction; nothing is held while idle.
 * Notifications come through the VisibilityGate, so the read they prompt
 * sees the notified change. Space memberships are looked up again every
 * WS_MEMBERSHIP_REFRESH_MS (as for sockets): a member removed from a space
 * stops receiving it, however long the stream stays open.
 */
@Injectable()
export class SyncStreamService implements BeforeApplicationShutdown {
  private readonly logger = new Logger('SyncStream');
  private readonly open = new Set<() => void>();

  constructor(
    private readonly sync: SyncService,
    private readonly runner: RlsTransactionRunner,
    private readonly gate: VisibilityGate,
    private readonly memberships: MembershipProvider,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly metrics: MetricsService,
  ) {}

  get openStreams(): number {
    return this.open.size;
  }

  /** Open streams end before the HTTP server closes, so shutdown never waits on them. */
  beforeApplicationShutdown(): void {
    for (const close of [...this.open]) close();
  }

  /** Starts the stream on `res`; returns the function that ends it. */
  start(request: StreamRequest, res: Response): () => void {
    const cursors = new Map(request.collections.map((table) => [table, request.since]));
    const pending = new Set<string>();
    // Replaced by each membership refresh; every read and every notification uses the current one.
    let user: AuthenticatedUser = request.user;
    let closed = false;
    let chain = Promise.resolve();

    const drained = (): Promise<void> =>
      new Promise<void>((resolve) => {
        // Both listeners go once either fires: a long stream waits for drain many times.
        const done = (): void => {
          res.off('drain', done);
          res.off('close', done);
          resolve();
        };
        res.once('drain', done);
        res.once('close', done);
      });

    /** One event; its data is written chunk by chunk (the changes are the store's JSON text). */
    const send = async (event: string, data: JsonText): Promise<void> => {
      for (const chunk of data.framed(`event: ${event}\ndata: `, '\n\n').chunks()) {
        if (closed) return;
        if (!res.write(chunk)) await drained();
      }
    };

    /** Reads a collection until it is caught up (the gate told of nothing the read cannot see). */
    const catchUp = async (table: string, always: boolean): Promise<void> => {
      while (!closed) {
        const result = await this.runner.runAsUser(user, () =>
          this.sync.read({
            appId: request.appId,
            table,
            since: cursors.get(table)!,
            clientId: request.clientId,
          }),
        );
        const { page } = result;
        cursors.set(table, parseSince(page.syncedUntil));
        if (always || page.changes.length > 0) {
          await send('changes', changesEventText(table, page));
          // Live events are the stream's notifications; the catch-up is not.
          if (!always) this.metrics.recordNotificationsSent('sse');
        }
        if (!page.hasMore) return;
      }
    };

    const schedule = (work: () => Promise<void>): void => {
      chain = chain.then(work).catch((error: unknown) => {
        this.logger.warn(`stream read failed: ${error instanceof Error ? error.message : error}`);
        close();
      });
    };

    const drainPending = async (): Promise<void> => {
      const due = [...pending];
      pending.clear();
      for (const table of due) await catchUp(table, false);
    };

    const onChange = (event: ChangeEvent): void => {
      if (closed || !concerns(request, user, event)) return;
      const wasIdle = pending.size === 0;
      // No tables: the notification was too large to name them, so any collection may have changed.
      const tables = event.tables.length > 0 ? event.tables : [...cursors.keys()];
      for (const table of tables) if (cursors.has(table)) pending.add(table);
      if (wasIdle && pending.size > 0) schedule(drainPending);
    };

    /** A failed lookup keeps what was known, as for sockets. */
    const refreshMemberships = async (): Promise<void> => {
      const result = await this.memberships.membershipsOf(user.userId).catch(() => undefined);
      if (closed || !result?.available) return;
      user = { ...user, spaceIds: result.spaceIds, membershipsAvailable: true };
    };

    /** Notifications may have been lost (LISTEN was down): every collection is read again. */
    const onResync = (): void => {
      if (closed) return;
      const wasIdle = pending.size === 0;
      for (const table of cursors.keys()) pending.add(table);
      if (wasIdle) schedule(drainPending);
    };

    const unsubscribe = this.gate.subscribe(onChange);
    const unsubscribeResync = this.gate.onResync(onResync);
    const heartbeat = setInterval(() => {
      schedule(() =>
        send('heartbeat', new JsonText(JSON.stringify({ time: new Date().toISOString() }), [], '')),
      );
    }, this.config.sseHeartbeatMs);
    const membershipRefresh = setInterval(
      () => void refreshMemberships(),
      this.config.wsMembershipRefreshMs,
    );

    const close = (): void => {
      if (closed) return;
      closed = true;
      this.open.delete(close);
      unsubscribe();
      unsubscribeResync();
      clearInterval(heartbeat);
      clearInterval(membershipRefresh);
      res.end();
    };

    this.open.add(close);
    res.on('close', close);
    schedule(async () => {
      for (const table of request.collections) await catchUp(table, true);
    });
    return close;
  }
}

/** Another client's push, to this user or to one of their (current) spaces, in this app. */
function concerns(request: StreamRequest, user: AuthenticatedUser, event: ChangeEvent): boolean {
  if (event.appId !== request.appId) return false;
  if (request.clientId !== undefined && event.clientId === request.clientId) return false;
  return event.userId === user.userId || event.spaceIds.some((id) => user.spaceIds.includes(id));
}
