import { Injectable } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import type { Pool } from 'pg';
import { Counter, Gauge } from 'prom-client';
import { DataSource } from 'typeorm';
import { BillingCheck } from '../billing/billing-check';
import { TtlCache } from '../common/ttl-cache';
import { SocketRegistry } from '../realtime/socket-registry';
import { MembershipProvider } from '../spaces/membership-provider';
import { SyncStreamService } from '../sync/sync-stream.service';
import { MetricsService } from './metrics.service';
import { WebSocketConnections } from './websocket-connections';

/**
 * Gauges of state that other parts of the service own (pool, streams,
 * sockets, caches): read when Prometheus scrapes, so nothing has to push
 * values and nothing is stale.
 */
@Injectable()
export class StateGauges {
  constructor(
    metrics: MetricsService,
    dataSource: DataSource,
    private readonly moduleRef: ModuleRef,
    private readonly memberships: MembershipProvider,
    private readonly billing: BillingCheck,
  ) {
    const registers = [metrics.registry];
    const pool = (name: string, help: string, read: (pool: Pool) => number): void => {
      new Gauge({
        name,
        help,
        registers,
        collect: function (this: Gauge) {
          const current = poolOf(dataSource);
          this.set(current ? read(current) : 0);
        },
      });
    };
    pool('sync_db_pool_connections_in_use', 'Pool connections checked out', (p) =>
      Math.max(0, p.totalCount - p.idleCount),
    );
    pool('sync_db_pool_connections_idle', 'Pool connections open and idle', (p) => p.idleCount);
    pool(
      'sync_db_pool_waiting_requests',
      'Queries waiting for a pool connection',
      (p) => p.waitingCount,
    );

    const count = (name: string, help: string, read: () => number): void => {
      new Gauge({
        name,
        help,
        registers,
        collect: function (this: Gauge) {
          this.set(read());
        },
      });
    };
    count(
      'sync_sse_streams_open',
      'Open server-sent-event streams',
      () => this.find(SyncStreamService)?.openStreams ?? 0,
    );
    count(
      'sync_websocket_connections_open',
      'Open WebSocket connections',
      () =>
        this.find(WebSocketConnections)?.openConnections ??
        this.find(SocketRegistry)?.connectionCount ??
        0,
    );

    const caches = { membership: this.memberships, billing: this.billing };
    new Counter({
      name: 'sync_cache_lookups_total',
      help: 'Lookups of the membership and billing caches, by result (hit, miss)',
      labelNames: ['cache', 'result'] as const,
      registers,
      // The caches count for themselves; mirror their totals (a replaced provider without one is absent).
      collect: function (this: Counter<'cache' | 'result'>) {
        this.reset();
        for (const [name, provider] of Object.entries(caches)) {
          const cache = (provider as { cache?: unknown }).cache;
          if (!(cache instanceof TtlCache)) continue;
          this.inc({ cache: name, result: 'hit' }, cache.hits);
          this.inc({ cache: name, result: 'miss' }, cache.misses);
        }
      },
    });
  }

  /** A provider of another module, looked up at scrape time; undefined when the app has none. */
  private find<T>(token: abstract new (...args: never[]) => T): T | undefined {
    try {
      return this.moduleRef.get<T>(token, { strict: false });
    } catch {
      return undefined;
    }
  }
}

/** TypeORM's PostgresDriver keeps the pg Pool as `master`; undefined once the DataSource is closed. */
function poolOf(dataSource: DataSource): Pool | undefined {
  if (!dataSource.isInitialized) return undefined;
  return (dataSource.driver as { master?: Pool }).master;
}
