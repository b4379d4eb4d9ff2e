import { Injectable } from '@nestjs/common';
import { collectDefaultMetrics, Counter, Histogram, Registry } from 'prom-client';

/** A cache's own running totals, mirrored into `sync_cache_lookups_total` at scrape time. */
export interface CacheLookupCounts {
  readonly hits: number;
  readonly misses: number;
}

/**
 * The service's Prometheus registry, the HTTP series and the caches' lookups.
 * One registry per application (not prom-client's global one), so several
 * apps in one process (tests) never collide. Each feature's own series are
 * defined by its `<feature>.metrics.ts` provider on this registry; a cache
 * registers its running totals through `cacheLookups`. Gauges are read when
 * Prometheus scrapes, so nothing is stale.
 */
@Injectable()
export class MetricsService {
  readonly registry = new Registry();

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

  /** The exposition text for `GET /metrics`. */
  render(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
