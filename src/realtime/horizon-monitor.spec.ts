import { Logger } from '@nestjs/common';
import { loadConfig } from '../config/app-config';
import { MetricsService } from '../metrics/metrics.service';
import {
  HorizonHolder,
  HorizonRepository,
  HorizonSample,
  scopeKey,
  WILDCARD_KEY,
} from '../store/horizon.repository';
import { HorizonMetrics } from './horizon.metrics';
import { HorizonMonitor } from './horizon-monitor';

describe('HorizonMonitor', () => {
  let sample: HorizonSample;
  let monitor: HorizonMonitor;
  let warnings: string[];

  const holder = (xid: number, ageSeconds: number | null): HorizonHolder => ({
    pid: 4242,
    applicationName: ageSeconds === null ? null : 'psql',
    ageSeconds,
    xid: BigInt(xid),
    scopeKeys: [WILDCARD_KEY],
  });

  beforeEach(() => {
    jest.useFakeTimers();
    warnings = [];
    jest.spyOn(Logger.prototype, 'warn').mockImplementation((message: unknown) => {
      warnings.push(String(message));
    });
    const repository = { sample: async () => sample } as unknown as HorizonRepository;
    const config = loadConfig({ DB_IDLE_IN_TX_TIMEOUT_MS: '10000' });
    monitor = new HorizonMonitor(
      repository,
      config.database,
      new HorizonMetrics(new MetricsService()),
      config.sync,
    );
  });

  afterEach(() => {
    jest.restoreAllMocks();
    jest.useRealTimers();
  });

  it('reports no lag when nothing holds the horizon behind the next xid', async () => {
    sample = { horizon: 100n, nextXid: 100n, holders: [] };
    expect(monitor.lagSeconds(await monitor.sample())).toBe(0);
  });

  it('warns once per half idle-in-transaction timeout about a holder older than that, naming it', async () => {
    expect(monitor.stallMs).toBe(5_000);
    sample = { horizon: 90n, nextXid: 100n, holders: [holder(90, 4)] };
    await monitor.sample();
    expect(warnings).toEqual([]);

    sample = { horizon: 90n, nextXid: 100n, holders: [holder(90, 6)] };
    expect(monitor.lagSeconds(await monitor.sample())).toBe(6);
    for (let i = 0; i < 20; i++) await monitor.sample();
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(
      /transaction 90 .*pid 4242, application_name "psql", open for 6\.0 s/,
    );

    jest.advanceTimersByTime(5_000);
    await monitor.sample();
    expect(warnings).toHaveLength(2);
  });

  it('measures the age itself when the role may not see the transaction start', async () => {
    sample = { horizon: 90n, nextXid: 100n, holders: [holder(90, null)] };
    await monitor.sample();
    jest.advanceTimersByTime(6_000);
    const later = await monitor.sample();
    expect(monitor.lagSeconds(later)).toBe(6);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/application_name "unknown", open for 6\.0 s/);
  });

  it('says whom a holder holds back: every reader, or the readers of the scopes it claimed', async () => {
    const writer: HorizonHolder = {
      ...holder(95, 7),
      pid: 77,
      scopeKeys: [scopeKey('u:a'), scopeKey('s:x')],
    };
    sample = { horizon: 90n, nextXid: 100n, holders: [holder(90, 3), writer] };
    expect(monitor.lagsByCause(await monitor.sample())).toEqual({ everyone: 3, scopes: 7 });
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(
      /^transaction 95 holds the sync horizon back for the readers of the 2 scopes it claimed: pid 77,/,
    );
    sample = { horizon: 90n, nextXid: 100n, holders: [holder(90, 6)] };
    await monitor.sample();
    expect(warnings[1]).toMatch(
      /^transaction 90 .* for every reader \(it wrote the change log without claiming/,
    );
  });
});
