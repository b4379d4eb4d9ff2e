import { BeforeApplicationShutdown, Inject, Injectable, Logger } from '@nestjs/common';
import type { Response } from 'express';
import { AuthenticatedUser } from '../auth/authenticated-user';
import { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { MetricsService } from '../metrics/metrics.service';
import { ChangeBus, ChangeEvent } from '../realtime/change-bus';
import { RlsTransactionRunner } from '../store/rls-transaction.runner';
import { parseSince, SyncCursor } from './sync-cursor';
import { SyncService } from './sync.service';

export interface StreamRequest {
  user: AuthenticatedUser;
  appId: string;
  collections: string[];
  since: SyncCursor;
  clientId?: string;
}

/** How long a stream keeps re-reading for a notified change whose writer is not yet below the horizon. */
const HORIZON_RETRY_MS = 25;
const HORIZON_RETRY_LIMIT = 400;

/**
 * Server-sent events: a catch-up of every requested collection, then a
 * `changes` event whenever another client's push touches one of them. Each
 * read is its own short RLS transaction; nothing is held while idle.
 */
@Injectable()
export class SyncStreamService implements BeforeApplicationShutdown {
  private readonly logger = new Logger('SyncStream');
  private readonly open = new Set<() => void>();

  constructor(
    private readonly sync: SyncService,
    private readonly runner: RlsTransactionRunner,
    private readonly bus: ChangeBus,
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
    const pending = new Map<string, bigint>();
    let closed = false;
    let chain = Promise.resolve();

    const send = async (event: string, data: unknown): Promise<void> => {
      if (closed) return;
      if (!res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`)) {
        await new Promise<void>((resolve) => {
          res.once('drain', resolve);
          res.once('close', resolve);
        });
      }
    };

    /** Reads a collection until it is caught up; `waitFor` is a notified writer's transaction. */
    const catchUp = async (table: string, always: boolean, waitFor = -1n): Promise<void> => {
      for (let attempt = 0; !closed; attempt++) {
        const result = await this.runner.runAsUser(request.user, () =>
          this.sync.read({
            appId: request.appId,
            table,
            since: cursors.get(table)!,
            clientId: request.clientId,
          }),
        );
        const { response } = result;
        cursors.set(table, parseSince(response.syncedUntil));
        if (always || response.serverChanges.length > 0) {
          await send('changes', {
            table,
            changes: response.serverChanges,
            syncedUntil: response.syncedUntil,
            hasMore: response.hasMore,
          });
          // Live events are the stream's notifications; the catch-up is not.
          if (!always) this.metrics.recordNotificationsSent('sse');
        }
        if (response.hasMore) continue;
        if (result.horizon > waitFor || attempt >= HORIZON_RETRY_LIMIT) return;
        await new Promise((resolve) => setTimeout(resolve, HORIZON_RETRY_MS));
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
      for (const [table, txId] of due) await catchUp(table, false, txId);
    };

    const onChange = (event: ChangeEvent): void => {
      if (closed || !concerns(request, event)) return;
      const wasIdle = pending.size === 0;
      // No tables: the notification was too large to name them, so any collection may have changed.
      const tables = event.tables.length > 0 ? event.tables : [...cursors.keys()];
      for (const table of tables) {
        if (!cursors.has(table)) continue;
        const txId = BigInt(event.txId);
        if ((pending.get(table) ?? -1n) < txId) pending.set(table, txId);
      }
      if (wasIdle && pending.size > 0) schedule(drainPending);
    };

    const unsubscribe = this.bus.subscribe(onChange);
    const heartbeat = setInterval(() => {
      schedule(() => send('heartbeat', { time: new Date().toISOString() }));
    }, this.config.sseHeartbeatMs);

    const close = (): void => {
      if (closed) return;
      closed = true;
      this.open.delete(close);
      unsubscribe();
      clearInterval(heartbeat);
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

/** Another client's push, to this user or to one of their spaces, in this app. */
function concerns(request: StreamRequest, event: ChangeEvent): boolean {
  if (event.appId !== request.appId) return false;
  if (request.clientId !== undefined && event.clientId === request.clientId) return false;
  return (
    event.userId === request.user.userId ||
    event.spaceIds.some((id) => request.user.spaceIds.includes(id))
  );
}
