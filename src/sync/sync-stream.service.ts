import { BeforeApplicationShutdown, Injectable, Logger } from '@nestjs/common';
import type { Request, Response } from 'express';
import { RealtimeConfig, SyncConfig } from '../config/app-config';
import { RealtimeMetrics } from '../realtime/realtime.metrics';
import { VisibilityGate } from '../realtime/visibility-gate';
import { MembershipProvider } from '../spaces/membership-provider';
import { RlsTransactionRunner } from '../store/rls-transaction.runner';
import { OpenStream, SseStream, SseStreamDeps, StreamRequest } from './sse-stream';
import { SyncMetrics } from './sync.metrics';
import { SyncService } from './sync.service';

/**
 * Server-sent events: a catch-up of every requested collection, then a
 * `changes` event whenever another client's push touches one of them. Each
 * read is its own short RLS transaction; nothing is held while idle.
 * Notifications come through the VisibilityGate, so the read they prompt
 * sees the notified change. Space memberships are looked up again every
 * WS_MEMBERSHIP_REFRESH_MS (as for sockets): a member removed from a space
 * stops receiving it, however long the stream stays open. One stream is an
 * `SseStream`; this service opens them and ends them at shutdown.
 */
@Injectable()
export class SyncStreamService implements BeforeApplicationShutdown {
  private readonly streams = new Set<SseStream>();
  private readonly deps: SseStreamDeps;

  constructor(
    sync: SyncService,
    runner: RlsTransactionRunner,
    gate: VisibilityGate,
    memberships: MembershipProvider,
    config: SyncConfig,
    realtime: RealtimeConfig,
    realtimeMetrics: RealtimeMetrics,
    metrics: SyncMetrics,
  ) {
    metrics.countOpenStreams(() => this.openStreams);
    this.deps = {
      sync,
      runner,
      gate,
      memberships,
      metrics: realtimeMetrics,
      logger: new Logger('SyncStream'),
      heartbeatMs: config.sseHeartbeatMs,
      membershipRefreshMs: realtime.membershipRefreshMs,
    };
  }

  get openStreams(): number {
    return this.streams.size;
  }

  /** The user's open streams on this instance. */
  streamsOf(userId: string): OpenStream[] {
    return [...this.streams].map((s) => s.description).filter((s) => s.userId === userId);
  }

  /** Open streams end before the HTTP server closes, so shutdown never waits on them. */
  beforeApplicationShutdown(): void {
    for (const stream of [...this.streams]) stream.close();
  }

  /** Answers 200 with an event stream and starts it; returns the function that ends it. */
  open(request: StreamRequest, req: Request, res: Response): () => void {
    res.status(200).set({
      'Content-Type': 'text/event-stream',
      'Cache-Control': 'no-cache, no-transform',
      Connection: 'keep-alive',
      'X-Accel-Buffering': 'no',
    });
    res.flushHeaders();
    req.socket.setNoDelay(true);
    return this.start(request, res);
  }

  /** Starts the stream on `res` (headers already sent); returns the function that ends it. */
  private start(request: StreamRequest, res: Response): () => void {
    const stream: SseStream = new SseStream(request, res, this.deps, () =>
      this.streams.delete(stream),
    );
    this.streams.add(stream);
    stream.start();
    return stream.close;
  }
}
