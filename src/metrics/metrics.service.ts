import { Injectable } from '@nestjs/common';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/** Distinct `app` label values kept; any app id can be pushed to, so later ones share one series. */
const MAX_APP_LABELS = 200;
const OTHER_APPS = '_other';

export type NotificationChannel = 'websocket' | 'sse';

/** A cache's own running totals, mirrored into `sync_cache_lookups_total` at scrape time. */
export interface CacheLookupCounts {
  readonly hits: number;
  readonly misses: number;
}

/**
 * The service's Prometheus registry and the counters request handling feeds.
 * One registry per application (not prom-client's global one), so several
 * apps in one process (tests) never collide. State other parts own (pool,
 * streams, sockets, caches) is registered by its owner through `gauge` and
 * `cacheLookups` and read when Prometheus scrapes, so nothing is stale.
 */
@Injectable()
export class MetricsService {
  readonly registry = new Registry();
  private readonly appLabels = new Set<string>();

  private readonly httpRequests = new Counter({
    name: 'sync_http_requests_total',
    help: 'HTTP requests by route pattern, method and status',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [this.registry],
  });

  private readonly httpDuration = new Histogram({
    name: 'sync_http_request_duration_seconds',
    help: 'HTTP request latency by route pattern, method and status (SSE: the stream lifetime)',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });

  private readonly changesStored = new Counter({
    name: 'sync_changes_stored_total',
    help: 'Changes committed by pushes, by app and op',
    labelNames: ['app', 'op'] as const,
    registers: [this.registry],
  });

  private readonly pulls = new Counter({
    name: 'sync_pulls_total',
    help: 'Pull requests answered, by app',
    labelNames: ['app'] as const,
    registers: [this.registry],
  });

  private readonly pulledRows = new Counter({
    name: 'sync_pulled_rows_total',
    help: 'Changes returned by pulls, by app',
    labelNames: ['app'] as const,
    registers: [this.registry],
  });

  private readonly notificationsSent = new Counter({
    name: 'sync_notifications_sent_total',
    help: 'Change notifications sent to connected clients, by channel',
    labelNames: ['channel'] as const,
    registers: [this.registry],
  });

  private readonly caches = new Map<string, CacheLookupCounts>();

  constructor() {
    collectDefaultMetrics({ register: this.registry });
    const caches = this.caches;
    new Counter({
      name: 'sync_cache_lookups_total',
      help: 'Lookups of the membership and billing caches, by result (hit, miss)',
      labelNames: ['cache', 'result'] as const,
      registers: [this.registry],
      collect(this: Counter<'cache' | 'result'>) {
        this.reset();
        for (const [cache, counts] of caches) {
          this.inc({ cache, result: 'hit' }, counts.hits);
          this.inc({ cache, result: 'miss' }, counts.misses);
        }
      },
    });
  }

  /** A gauge of state its owner holds, read by `read` at scrape time. */
  gauge(name: string, help: string, read: () => number): void {
    new Gauge({
      name,
      help,
      registers: [this.registry],
      collect(this: Gauge) {
        this.set(read());
      },
    });
  }

  /** Mirrors a cache's hit and miss totals as `sync_cache_lookups_total{cache}`. */
  cacheLookups(cache: string, counts: CacheLookupCounts): void {
    this.caches.set(cache, counts);
  }

  /** Called once per finished HTTP request; `route` is the pattern (`/sync/:appId`), never the URL. */
  recordHttpRequest(method: string, route: string, status: number, seconds: number): void {
    const labels = { method, route, status: String(status) };
    this.httpRequests.inc(labels);
    this.httpDuration.observe(labels, seconds);
  }

  /** Call after COMMIT only: rolled-back pushes stored nothing. */
  recordChangesStored(appId: string, ops: readonly string[]): void {
    const app = this.appLabel(appId);
    const counts = new Map<string, number>();
    for (const op of ops) counts.set(op, (counts.get(op) ?? 0) + 1);
    for (const [op, count] of counts) this.changesStored.inc({ app, op }, count);
  }

  recordPull(appId: string, rows: number): void {
    const app = this.appLabel(appId);
    this.pulls.inc({ app });
    this.pulledRows.inc({ app }, rows);
  }

  /** For the realtime fan-out: one call per notification written to a client. */
  recordNotificationsSent(channel: NotificationChannel, count = 1): void {
    this.notificationsSent.inc({ channel }, count);
  }

  /** The exposition text for `GET /metrics`. */
  render(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  private appLabel(appId: string): string {
    if (this.appLabels.has(appId)) return appId;
    if (this.appLabels.size >= MAX_APP_LABELS) return OTHER_APPS;
    this.appLabels.add(appId);
    return appId;
  }
}
