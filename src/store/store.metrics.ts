import { Injectable } from '@nestjs/common';
import type { Pool } from 'pg';
import { DataSource } from 'typeorm';
import { MetricsService } from '../metrics/metrics.service';
import { scrapedGauge } from '../metrics/scraped-gauge';
import { poolOf } from './driver-internals';

/** The pool's gauges, read at scrape time (0 once the pool is closed). */
@Injectable()
export class StoreMetrics {
  constructor(dataSource: DataSource, metrics: MetricsService) {
    const pool = (name: string, help: string, read: (pool: Pool) => number): void => {
      scrapedGauge(metrics.registry, name, help, () => {
        const current = poolOf(dataSource);
        return current ? read(current) : 0;
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
  }
}
