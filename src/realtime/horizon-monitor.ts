import {
  BeforeApplicationShutdown,
  Injectable,
  Logger,
  OnApplicationBootstrap,
} from '@nestjs/common';
import { Gauge } from 'prom-client';
import { DatabaseConfig } from '../config/app-config';
import { MetricsService } from '../metrics/metrics.service';
import { HorizonHolder, HorizonRepository, HorizonSample } from '../store/horizon.repository';

/** Without an idle-in-transaction timeout, a writer is reported once it held the horizon this long. */
const DEFAULT_STALL_MS = 30_000;
/** The background check runs at least this often and at most every second. */
const MAX_CHECK_INTERVAL_MS = 30_000;
const MIN_CHECK_INTERVAL_MS = 1_000;

/**
 * Watches the cursor horizon (docs/cursor.md): the VisibilityGate samples it
 * while notifications wait, `sync_horizon_lag_seconds` reads it at scrape
 * time, and a slow background check warns about a session that holds it back
 * longer than DB_IDLE_IN_TX_TIMEOUT_MS/2 (our own connections are cut at the
 * full timeout, so such a session is usually a foreign writer).
 */
@Injectable()
export class HorizonMonitor implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('Horizon');
  /** Holder xid → when it was first seen (the age when the role may not read xact_start). */
  private readonly firstSeen = new Map<string, number>();
  /** Holder xid → when it was last warned about. */
  private readonly warned = new Map<string, number>();
  readonly stallMs: number;
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly repository: HorizonRepository,
    database: DatabaseConfig,
    metrics: MetricsService,
  ) {
    const idle = database.idleInTransactionTimeoutMs;
    this.stallMs = idle > 0 ? Math.floor(idle / 2) : DEFAULT_STALL_MS;
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const monitor = this;
    new Gauge({
      name: 'sync_horizon_lag_seconds',
      help: 'How long the oldest running write transaction of the database has held the cursor horizon behind the newest one (0: none)',
      registers: [metrics.registry],
      async collect(this: Gauge) {
        // A database that is down leaves the last value; the scrape itself must not fail.
        const sample = await monitor.sample().catch(() => undefined);
        if (sample) this.set(monitor.lagSeconds(sample));
      },
    });
  }

  onApplicationBootstrap(): void {
    const every = Math.min(
      MAX_CHECK_INTERVAL_MS,
      Math.max(MIN_CHECK_INTERVAL_MS, Math.floor(this.stallMs / 2)),
    );
    this.timer = setInterval(() => void this.sample().catch(() => undefined), every).unref();
  }

  beforeApplicationShutdown(): void {
    clearInterval(this.timer);
  }

  /** One read of the horizon; every sample also checks for stalled writers. */
  async sample(): Promise<HorizonSample> {
    const sample = await this.repository.sample();
    this.checkStall(sample.holders);
    return sample;
  }

  /** 0 when no transaction holds the horizon behind the next xid. */
  lagSeconds(sample: HorizonSample): number {
    if (sample.horizon >= sample.nextXid || sample.holders.length === 0) return 0;
    return Math.max(0, this.ageOf(sample.holders[0], Date.now()) / 1000);
  }

  private ageOf(holder: HorizonHolder, now: number): number {
    if (holder.ageSeconds !== null) return holder.ageSeconds * 1000;
    return now - (this.firstSeen.get(holder.xid.toString()) ?? now);
  }

  private checkStall(holders: HorizonHolder[]): void {
    const now = Date.now();
    const current = new Set(holders.map((h) => h.xid.toString()));
    for (const map of [this.firstSeen, this.warned]) {
      for (const xid of map.keys()) if (!current.has(xid)) map.delete(xid);
    }
    for (const holder of holders) {
      const xid = holder.xid.toString();
      if (!this.firstSeen.has(xid)) this.firstSeen.set(xid, now);
      const age = this.ageOf(holder, now);
      if (age <= this.stallMs) continue;
      // Once per stall period per transaction, however often the horizon is sampled.
      const last = this.warned.get(xid);
      if (last !== undefined && now - last < this.stallMs) continue;
      this.warned.set(xid, now);
      this.logger.warn(
        `transaction ${xid} holds the sync horizon back: pid ${holder.pid ?? 'none'}, ` +
          `application_name ${JSON.stringify(holder.applicationName ?? 'unknown')}, ` +
          `open for ${(age / 1000).toFixed(1)} s; live clients receive no newer change until it ends`,
      );
    }
  }
}
