import {
  BeforeApplicationShutdown,
  Injectable,
  Logger,
  OnApplicationBootstrap,
} from '@nestjs/common';
import { DatabaseConfig, SyncConfig } from '../config/app-config';
import {
  HorizonHolder,
  HorizonRepository,
  HorizonSample,
  WILDCARD_KEY,
} from '../store/horizon.repository';
import { HorizonCause, HorizonMetrics } from './horizon.metrics';

/** Without an idle-in-transaction timeout, a writer is reported once it held the horizon this long. */
const DEFAULT_STALL_MS = 30_000;
/** The background check runs at least this often and at most every second. */
const MAX_CHECK_INTERVAL_MS = 30_000;
const MIN_CHECK_INTERVAL_MS = 1_000;

/** Who a holder holds back: every reader (the wildcard), or the readers of its claimed scopes. */
function causeOf(holder: HorizonHolder): HorizonCause {
  return holder.scopeKeys.includes(WILDCARD_KEY) ? 'everyone' : 'scopes';
}

/**
 * Watches the cursor horizons (docs/cursor.md): the VisibilityGate and the LogSweep sample
 * them (one reading for every scope), `sync_horizon_lag_seconds` reads them at scrape time
 * by cause, and a slow background check warns about a writer that holds readers back longer
 * than DB_IDLE_IN_TX_TIMEOUT_MS/2 (our own connections are cut at the full timeout, so such
 * a writer is usually a foreign one), saying whom it holds back.
 */
@Injectable()
export class HorizonMonitor implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('Horizon');
  /** Holder xid → when it was first seen (the age when the role may not read xact_start). */
  private readonly firstSeen = new Map<string, number>();
  /** Holder xid → when it was last warned about. */
  private readonly warned = new Map<string, number>();
  readonly stallMs: number;
  private readonly global: boolean;
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly repository: HorizonRepository,
    database: DatabaseConfig,
    metrics: HorizonMetrics,
    sync: SyncConfig,
  ) {
    const idle = database.idleInTransactionTimeoutMs;
    this.stallMs = idle > 0 ? Math.floor(idle / 2) : DEFAULT_STALL_MS;
    this.global = sync.horizon === 'global';
    metrics.readLagsFrom(async () => this.lagsByCause(await this.sample()));
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

  /** The lag of the oldest holder of each cause (0: none). */
  lagsByCause(sample: HorizonSample): Record<HorizonCause, number> {
    const lags: Record<HorizonCause, number> = { everyone: 0, scopes: 0 };
    const now = Date.now();
    for (const holder of sample.holders) {
      const cause = causeOf(holder);
      lags[cause] = Math.max(lags[cause], this.ageOf(holder, now) / 1000);
    }
    return lags;
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
        `transaction ${xid} holds the sync horizon back for ${this.whom(holder)}: ` +
          `pid ${holder.pid ?? 'none'}, ` +
          `application_name ${JSON.stringify(holder.applicationName ?? 'unknown')}, ` +
          `open for ${(age / 1000).toFixed(1)} s; their live clients receive no newer change until it ends`,
      );
    }
  }

  private whom(holder: HorizonHolder): string {
    if (causeOf(holder) === 'scopes') {
      const n = holder.scopeKeys.length;
      return `the readers of the ${n} scope${n === 1 ? '' : 's'} it claimed`;
    }
    return this.global
      ? 'every reader (SYNC_HORIZON=global)'
      : 'every reader (it wrote the change log without claiming its scopes first)';
  }
}
