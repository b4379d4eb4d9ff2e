import { collectDefaultMetrics, Registry } from 'prom-client';
import { MetricsService } from '../../src/metrics/metrics.service';
import { useService } from '../support/service-fixture';

/** A series family as `/metrics` declares it: name, type, help, label names. */
interface Family {
  name: string;
  type: string;
  help: string;
  labels: string[];
}

/**
 * The service's own series, as main served them before metrics moved into each feature's
 * `<feature>.metrics.ts` (issue 24): a dashboard or alert written against one keeps working.
 * Adding a series means adding it here; renaming one breaks its users.
 */
const SERIES: Family[] = [
  {
    name: 'sync_cache_lookups_total',
    type: 'counter',
    help: 'Lookups of the membership and billing caches, by result (hit, miss)',
    labels: ['cache', 'result'],
  },
  {
    name: 'sync_changes_stored_total',
    type: 'counter',
    help: 'Changes committed by pushes, by app and op',
    labels: ['app', 'op'],
  },
  {
    name: 'sync_compaction_fields_stripped_total',
    type: 'counter',
    help: 'Superseded fields stripped from update rows by compaction',
    labels: [],
  },
  {
    name: 'sync_compaction_last_duration_seconds',
    type: 'gauge',
    help: 'Duration of the last compaction pass that ran',
    labels: [],
  },
  {
    name: 'sync_compaction_last_run_timestamp_seconds',
    type: 'gauge',
    help: 'Unix time the last compaction pass that ran ended',
    labels: [],
  },
  {
    name: 'sync_compaction_passes_total',
    type: 'counter',
    help: 'Compaction passes, by result (complete, partial: stopped at COMPACTION_PASS_MAX_MS, skipped: another instance ran one, failed)',
    labels: ['result'],
  },
  {
    name: 'sync_compaction_rows_removed_total',
    type: 'counter',
    help: 'Change rows removed by compaction',
    labels: [],
  },
  {
    name: 'sync_compaction_rows_scanned_total',
    type: 'counter',
    help: 'Change rows compaction read',
    labels: [],
  },
  {
    name: 'sync_db_pool_connections_idle',
    type: 'gauge',
    help: 'Pool connections open and idle',
    labels: [],
  },
  {
    name: 'sync_db_pool_connections_in_use',
    type: 'gauge',
    help: 'Pool connections checked out',
    labels: [],
  },
  {
    name: 'sync_db_pool_waiting_requests',
    type: 'gauge',
    help: 'Queries waiting for a pool connection',
    labels: [],
  },
  {
    name: 'sync_hint_delay_seconds',
    type: 'histogram',
    help: "Seconds from a push's COMMIT to its hint reaching this instance's sockets and streams (held until readers can see it), by where the hint came from",
    labels: ['source'],
  },
  {
    name: 'sync_hints_total',
    type: 'counter',
    help: 'Hints of committed changes this instance received, by source (local: its own commits; remote: NOTIFY of another instance; sweep: found by reading the log, no notification brought them)',
    labels: ['source'],
  },
  {
    name: 'sync_horizon_lag_seconds',
    type: 'gauge',
    // Per cause since the per-scope horizon (issue 21): the one series that changed on purpose.
    help: 'How long the oldest open writer of the change log has held readers back, by cause (everyone: every reader; scopes: readers of the scopes it claimed); 0: none',
    labels: ['cause'],
  },
  {
    name: 'sync_http_request_duration_seconds',
    type: 'histogram',
    help: 'HTTP request latency by route pattern, method and status (SSE: the stream lifetime)',
    labels: ['method', 'route', 'status'],
  },
  {
    name: 'sync_http_requests_total',
    type: 'counter',
    help: 'HTTP requests by route pattern, method and status',
    labels: ['method', 'route', 'status'],
  },
  {
    name: 'sync_notifications_sent_total',
    type: 'counter',
    help: 'Change notifications sent to connected clients, by channel',
    labels: ['channel'],
  },
  {
    name: 'sync_pulled_rows_total',
    type: 'counter',
    help: 'Changes returned by pulls, by app',
    labels: ['app'],
  },
  {
    name: 'sync_pulls_total',
    type: 'counter',
    help: 'Pull requests answered, by app',
    labels: ['app'],
  },
  {
    name: 'sync_sse_streams_open',
    type: 'gauge',
    help: 'Open server-sent-event streams',
    labels: [],
  },
  {
    name: 'sync_websocket_connections_open',
    type: 'gauge',
    help: 'Open WebSocket connections',
    labels: [],
  },
];

/** `# HELP` and `# TYPE` lines of the exposition, by family name. */
function declared(text: string): Map<string, { type: string; help: string }> {
  const families = new Map<string, { type: string; help: string }>();
  for (const line of text.split('\n')) {
    const help = /^# HELP (\S+) (.*)$/.exec(line);
    if (help)
      families.set(help[1]!, {
        type: '',
        help: help[2]!.replace(/\\n/g, '\n').replace(/\\\\/g, '\\'),
      });
    const type = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (type) families.get(type[1]!)!.type = type[2]!;
  }
  return families;
}

async function familiesOf(registry: Registry, text: string): Promise<Family[]> {
  const byName = declared(text);
  return registry
    .getMetricsAsArray()
    .map((metric) => {
      const { name, labelNames } = metric as unknown as { name: string; labelNames: string[] };
      const { type, help } = byName.get(name) ?? { type: 'missing', help: 'missing' };
      return { name, type, help, labels: [...labelNames].sort() };
    })
    .sort((a, b) => a.name.localeCompare(b.name));
}

describe('GET /metrics: the series, name by name', () => {
  const t = useService({});

  it('serves the same series as before, with the same type, help and label names', async () => {
    const text = await (await fetch(`${t.service.url}/metrics`)).text();
    const registry = t.service.app.get(MetricsService).registry;
    const families = await familiesOf(registry, text);
    const own = families.filter((f) => f.name.startsWith('sync_'));
    expect(own).toEqual(SERIES);
    // Every series in the text is one of the registry's.
    expect([...declared(text).keys()].sort()).toEqual(families.map((f) => f.name).sort());
  });

  it("adds prom-client's default process series and nothing else", async () => {
    const text = await (await fetch(`${t.service.url}/metrics`)).text();
    const defaults = new Registry();
    collectDefaultMetrics({ register: defaults });
    const expected = await familiesOf(defaults, await defaults.metrics());
    const families = await familiesOf(t.service.app.get(MetricsService).registry, text);
    expect(families.filter((f) => !f.name.startsWith('sync_'))).toEqual(expected);
  });
});
