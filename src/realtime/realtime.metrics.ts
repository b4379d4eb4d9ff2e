import { Injectable } from '@nestjs/common';
import { Counter, Histogram } from 'prom-client';
import { MetricsService } from '../metrics/metrics.service';
import { scrapedGauge } from '../metrics/scraped-gauge';

export type HintSource = 'local' | 'remote' | 'sweep';

export type NotificationChannel = 'websocket' | 'sse';

/** The realtime side's own series, registered on the service's registry. */
@Injectable()
export class RealtimeMetrics {
  private readonly delay: Histogram<'source'>;
  private readonly hints: Counter<'source'>;
  private readonly notifications: Counter<'channel'>;
  private readOpenSockets: () => number = () => 0;

  constructor(metrics: MetricsService) {
    const registers = [metrics.registry];
    this.notifications = new Counter({
      name: 'sync_notifications_sent_total',
      help: 'Change notifications sent to connected clients, by channel',
      labelNames: ['channel'] as const,
      registers,
    });
    scrapedGauge(
      metrics.registry,
      'sync_websocket_connections_open',
      'Open WebSocket connections',
      () => this.readOpenSockets(),
    );
    this.delay = new Histogram({
      name: 'sync_hint_delay_seconds',
      help: "Seconds from a push's COMMIT to its hint reaching this instance's sockets and streams (held until readers can see it), by where the hint came from",
      labelNames: ['source'] as const,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30],
      registers,
    });
    this.hints = new Counter({
      name: 'sync_hints_total',
      help: 'Hints of committed changes this instance received, by source (local: its own commits; remote: NOTIFY of another instance; sweep: found by reading the log, no notification brought them)',
      labelNames: ['source'] as const,
      registers,
    });
  }

  hintsReceived(source: HintSource, count: number): void {
    this.hints.inc({ source }, count);
  }

  /** A hint was delivered to this instance's listeners; `committedAt` in ms since the epoch. */
  hintDelivered(source: HintSource, committedAt: number, now = Date.now()): void {
    this.delay.observe({ source }, Math.max(0, now - committedAt) / 1000);
  }

  /** For the fan-out (sockets here, SSE streams in sync): one per notification written to a client. */
  notificationsSent(channel: NotificationChannel, count = 1): void {
    this.notifications.inc({ channel }, count);
  }

  /** The sockets' owner tells how to count them; read at scrape time. */
  countOpenSockets(read: () => number): void {
    this.readOpenSockets = read;
  }
}
