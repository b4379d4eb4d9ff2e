import {
  BeforeApplicationShutdown,
  Injectable,
  Logger,
  OnApplicationBootstrap,
} from '@nestjs/common';
import type { MetricObjectWithValues, MetricValue, Registry } from 'prom-client';
import { MetricsService } from '../metrics/metrics.service';
import { errorMessage } from '../common/error-message';

/** How often the dashboard's history takes a sample, and how much of it is kept. */
export const SAMPLE_INTERVAL_MS = 2_000;
export const WINDOW_MS = 15 * 60_000;
const CAPACITY = WINDOW_MS / SAMPLE_INTERVAL_MS + 1;

/** One point of the operator dashboard: rates and quantiles over the interval that ended at `t`. */
export interface OpsSample {
  /** Milliseconds since the epoch. */
  t: number;
  /** Requests per second; null on the first sample (no interval yet). */
  pushRate: number | null;
  pullRate: number | null;
  /** Latency quantiles in seconds over the interval; null without requests. */
  pushP50: number | null;
  pushP99: number | null;
  pullP50: number | null;
  pullP99: number | null;
  horizonLagSeconds: number | null;
  poolInUse: number | null;
  poolWaiting: number | null;
  websockets: number | null;
  sseStreams: number | null;
  /** Seconds from a push's COMMIT to its hint reaching a socket or stream; null without data. */
  hintDelayP50: number | null;
  hintDelayP99: number | null;
  /** Rows compaction removed during the interval. */
  compactionRowsRemoved: number | null;
  /** Unix seconds the last pass ended, and how long it took. */
  compactionLastRun: number | null;
  compactionLastDuration: number | null;
  /** Error answers per second over the interval, by status (4xx and 5xx). */
  errors: Record<string, number>;
}

/** Cumulative histogram buckets (upper bound → count) and the total. */
interface Buckets {
  bounds: Map<number, number>;
  count: number;
}

/** What a sample reads; the next one subtracts it. */
interface Raw {
  t: number;
  push: Buckets;
  pull: Buckets;
  hintDelay?: Buckets;
  statuses: Map<string, number>;
  compactionRemoved?: number;
}

const PUSH = { method: 'POST', route: '/sync/:appId' };
const PULL = { method: 'GET', route: '/sync/:appId/pull' };

/**
 * The last 15 minutes of the service's own metrics, for `/inspect/ops`: a sample every
 * SAMPLE_INTERVAL_MS read from the Prometheus registry by series name (so no feature
 * is imported, and a series that does not exist yet reads as null), kept in a ring.
 */
@Injectable()
export class OpsHistory implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('OpsHistory');
  private readonly ring: OpsSample[] = [];
  private previous?: Raw;
  private timer?: NodeJS.Timeout;
  private sampling = false;

  constructor(private readonly metrics: MetricsService) {}

  onApplicationBootstrap(): void {
    void this.sample();
    this.timer = setInterval(() => void this.sample(), SAMPLE_INTERVAL_MS).unref();
  }

  beforeApplicationShutdown(): void {
    clearInterval(this.timer);
  }

  /** Samples taken after `afterMs`, oldest first. */
  since(afterMs = 0): OpsSample[] {
    return this.ring.filter((s) => s.t > afterMs);
  }

  /** Takes one sample now (the timer's work; tests call it to skip waiting). */
  async sample(): Promise<OpsSample | undefined> {
    if (this.sampling) return undefined;
    this.sampling = true;
    try {
      const point = await takeSample(this.metrics.registry, this.previous, Date.now());
      this.previous = point.raw;
      this.ring.push(point.sample);
      if (this.ring.length > CAPACITY) this.ring.splice(0, this.ring.length - CAPACITY);
      return point.sample;
    } catch (error) {
      this.logger.warn(`sample failed: ${errorMessage(error)}`);
      return undefined;
    } finally {
      this.sampling = false;
    }
  }
}

async function read(registry: Registry, name: string): Promise<MetricValue<string>[] | undefined> {
  const metric = registry.getSingleMetric(name);
  if (!metric) return undefined;
  return ((await metric.get()) as MetricObjectWithValues<MetricValue<string>>).values;
}

async function gauge(registry: Registry, name: string): Promise<number | null> {
  const values = await read(registry, name);
  if (!values || values.length === 0) return null;
  return values.reduce((sum, v) => sum + v.value, 0);
}

/** Buckets of a histogram summed over its label sets, those matching `where` only. */
function buckets(values: MetricValue<string>[], where: Record<string, string> = {}): Buckets {
  const result: Buckets = { bounds: new Map(), count: 0 };
  for (const value of values) {
    const labels = value.labels as Record<string, string | number>;
    if (Object.entries(where).some(([k, v]) => labels[k] !== v)) continue;
    const name = (value as MetricValue<string> & { metricName?: string }).metricName ?? '';
    if (name.endsWith('_bucket')) {
      const le = labels.le === '+Inf' ? Infinity : Number(labels.le);
      result.bounds.set(le, (result.bounds.get(le) ?? 0) + value.value);
    } else if (name.endsWith('_count')) {
      result.count += value.value;
    }
  }
  return result;
}

/** Like PromQL's histogram_quantile over the increase between two readings. */
export function quantile(q: number, now: Buckets, before?: Buckets): number | null {
  const total = now.count - (before?.count ?? 0);
  if (total <= 0) return null;
  const bounds = [...now.bounds.keys()].sort((a, b) => a - b);
  const rank = q * total;
  let lower = 0;
  let below = 0;
  for (const bound of bounds) {
    const cumulative = (now.bounds.get(bound) ?? 0) - (before?.bounds.get(bound) ?? 0);
    if (cumulative >= rank) {
      if (bound === Infinity) return lower;
      const inBucket = cumulative - below;
      return inBucket <= 0 ? bound : lower + ((bound - lower) * (rank - below)) / inBucket;
    }
    lower = bound;
    below = cumulative;
  }
  return lower;
}

async function takeSample(
  registry: Registry,
  previous: Raw | undefined,
  t: number,
): Promise<{ sample: OpsSample; raw: Raw }> {
  const durations = (await read(registry, 'sync_http_request_duration_seconds')) ?? [];
  const hints = await read(registry, 'sync_hint_delay_seconds');
  const statuses = new Map<string, number>();
  for (const v of (await read(registry, 'sync_http_requests_total')) ?? []) {
    const status = String(v.labels.status);
    if (Number(status) >= 400) statuses.set(status, (statuses.get(status) ?? 0) + v.value);
  }
  const raw: Raw = {
    t,
    push: buckets(durations, PUSH),
    pull: buckets(durations, PULL),
    hintDelay: hints ? buckets(hints) : undefined,
    statuses,
    compactionRemoved: (await gauge(registry, 'sync_compaction_rows_removed_total')) ?? undefined,
  };
  const seconds = previous ? (t - previous.t) / 1000 : 0;
  const rate = (now: number, before: number | undefined): number | null =>
    previous && seconds > 0 ? Math.max(0, now - (before ?? 0)) / seconds : null;
  const errors: Record<string, number> = {};
  if (previous && seconds > 0) {
    for (const [status, count] of statuses) {
      const perSecond = (count - (previous.statuses.get(status) ?? 0)) / seconds;
      if (perSecond > 0) errors[status] = perSecond;
    }
  }
  const lastRun = await gauge(registry, 'sync_compaction_last_run_timestamp_seconds');
  const sample: OpsSample = {
    t,
    pushRate: rate(raw.push.count, previous?.push.count),
    pullRate: rate(raw.pull.count, previous?.pull.count),
    pushP50: quantile(0.5, raw.push, previous?.push),
    pushP99: quantile(0.99, raw.push, previous?.push),
    pullP50: quantile(0.5, raw.pull, previous?.pull),
    pullP99: quantile(0.99, raw.pull, previous?.pull),
    horizonLagSeconds: await gauge(registry, 'sync_horizon_lag_seconds'),
    poolInUse: await gauge(registry, 'sync_db_pool_connections_in_use'),
    poolWaiting: await gauge(registry, 'sync_db_pool_waiting_requests'),
    websockets: await gauge(registry, 'sync_websocket_connections_open'),
    sseStreams: await gauge(registry, 'sync_sse_streams_open'),
    hintDelayP50: raw.hintDelay ? quantile(0.5, raw.hintDelay, previous?.hintDelay) : null,
    hintDelayP99: raw.hintDelay ? quantile(0.99, raw.hintDelay, previous?.hintDelay) : null,
    compactionRowsRemoved:
      raw.compactionRemoved === undefined || !previous
        ? null
        : raw.compactionRemoved - (previous.compactionRemoved ?? 0),
    // A gauge never set reads 0: no pass has run.
    compactionLastRun: lastRun ? lastRun : null,
    compactionLastDuration: lastRun
      ? await gauge(registry, 'sync_compaction_last_duration_seconds')
      : null,
    errors,
  };
  return { sample, raw };
}
