import { render } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { ApiError, OpsSample, opsSamples } from './api';
import { showDuration } from './format';
import { metricsToken } from './session';
import './styles.css';

const REFRESH_MS = 2_000;
const WINDOW_MS = 15 * 60_000;

interface Series {
  label: string;
  color: string;
  value: (s: OpsSample) => number | null;
}

interface ChartSpec {
  id: string;
  title: string;
  unit: string;
  series: Series[];
  /** Series that depend on the data (errors by status). */
  dynamic?: (samples: OpsSample[]) => Series[];
  note?: (samples: OpsSample[]) => string | undefined;
}

const ms = (v: number | null) => (v === null ? null : v * 1000);
const STATUS_COLORS = ['#b3261e', '#e8710a', '#8e24aa', '#6d4c41', '#c2185b', '#455a64'];

const CHARTS: ChartSpec[] = [
  {
    id: 'rates',
    title: 'Push and pull rate',
    unit: 'requests/s',
    series: [
      { label: 'push', color: '#1a73e8', value: (s) => s.pushRate },
      { label: 'pull', color: '#188038', value: (s) => s.pullRate },
    ],
  },
  {
    id: 'latency',
    title: 'Push and pull latency',
    unit: 'ms',
    series: [
      { label: 'push p50', color: '#1a73e8', value: (s) => ms(s.pushP50) },
      { label: 'push p99', color: '#174ea6', value: (s) => ms(s.pushP99) },
      { label: 'pull p50', color: '#188038', value: (s) => ms(s.pullP50) },
      { label: 'pull p99', color: '#0d652d', value: (s) => ms(s.pullP99) },
    ],
  },
  {
    id: 'horizon',
    title: 'Horizon lag',
    unit: 's',
    series: [{ label: 'lag', color: '#9334e6', value: (s) => s.horizonLagSeconds }],
  },
  {
    id: 'pool',
    title: 'Database pool',
    unit: 'connections',
    series: [
      { label: 'in use', color: '#1a73e8', value: (s) => s.poolInUse },
      { label: 'waiting', color: '#d93025', value: (s) => s.poolWaiting },
    ],
  },
  {
    id: 'connections',
    title: 'Open sockets and streams',
    unit: 'open',
    series: [
      { label: 'WebSockets', color: '#e37400', value: (s) => s.websockets },
      { label: 'SSE streams', color: '#12b5cb', value: (s) => s.sseStreams },
    ],
  },
  {
    id: 'hints',
    title: 'Notification delivery delay (COMMIT to socket or stream)',
    unit: 'ms',
    series: [
      { label: 'p50', color: '#1a73e8', value: (s) => ms(s.hintDelayP50) },
      { label: 'p99', color: '#174ea6', value: (s) => ms(s.hintDelayP99) },
    ],
  },
  {
    id: 'compaction',
    title: 'Compaction: rows removed',
    unit: 'rows',
    series: [{ label: 'removed', color: '#5f6368', value: (s) => s.compactionRowsRemoved }],
    note: (samples) => {
      const last = samples[samples.length - 1];
      if (!last?.compactionLastRun) return 'No compaction pass has run since the service started.';
      const when = new Date(last.compactionLastRun * 1000).toLocaleTimeString();
      return `Last pass ended ${when}, took ${showDuration((last.compactionLastDuration ?? 0) * 1000)}.`;
    },
  },
  {
    id: 'errors',
    title: 'Errors by status',
    unit: 'answers/s',
    series: [],
    dynamic: (samples) =>
      [...new Set(samples.flatMap((s) => Object.keys(s.errors)))].sort().map((status, i) => ({
        label: status,
        color: STATUS_COLORS[i % STATUS_COLORS.length],
        value: (s) => s.errors[status] ?? 0,
      })),
  },
];

function Chart({ spec, samples }: { spec: ChartSpec; samples: OpsSample[] }) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | undefined>(undefined);
  const shape = useRef('');
  const series = spec.dynamic ? spec.dynamic(samples) : spec.series;
  const hasData = samples.some((s) => series.some((x) => x.value(s) !== null));
  const data: uPlot.AlignedData = [
    samples.map((s) => s.t / 1000),
    ...series.map((x) => samples.map((s) => x.value(s))),
  ];

  useEffect(() => {
    const element = box.current!;
    const key = series.map((x) => x.label).join('|');
    if (!plot.current || shape.current !== key) {
      plot.current?.destroy();
      shape.current = key;
      plot.current = new uPlot(
        {
          width: Math.max(200, element.clientWidth),
          height: 180,
          series: [
            {},
            ...series.map((x) => ({ label: x.label, stroke: x.color, width: 2, spanGaps: false })),
          ],
          axes: [{}, { label: spec.unit, size: 60 }],
          scales: {
            x: { time: true },
            y: { range: (_u, min, max) => [Math.min(0, min ?? 0), Math.max(1, max ?? 1)] },
          },
          legend: { live: false },
        },
        data,
        element,
      );
      return;
    }
    plot.current.setData(data);
  });

  useEffect(() => {
    const observer = new ResizeObserver(() => {
      const width = box.current?.clientWidth ?? 0;
      if (plot.current && width > 0)
        plot.current.setSize({ width: Math.max(200, width), height: 180 });
    });
    observer.observe(box.current!);
    return () => {
      observer.disconnect();
      plot.current?.destroy();
      plot.current = undefined;
    };
  }, []);

  const latest = samples[samples.length - 1];
  const summary = latest
    ? series
        .map(
          (x) =>
            `${x.label} ${x.value(latest) === null ? 'no data' : (x.value(latest) as number).toFixed(2)}`,
        )
        .join(', ')
    : 'no samples yet';
  const note = spec.note?.(samples);
  return (
    <section
      class="panel chart"
      aria-labelledby={`chart-${spec.id}`}
      data-chart={spec.id}
      data-has-data={hasData}
    >
      <h2 id={`chart-${spec.id}`}>{spec.title}</h2>
      <div
        ref={box}
        class="plot"
        role="img"
        aria-label={`${spec.title} (${spec.unit}), latest: ${summary}`}
      />
      {!hasData && (
        <p class="no-data" role="status">
          {spec.dynamic ? 'No errors in the last 15 minutes.' : 'no data'}
        </p>
      )}
      {note && <p class="meta">{note}</p>}
    </section>
  );
}

function Dashboard() {
  const [samples, setSamples] = useState<OpsSample[]>([]);
  const [needsToken, setNeedsToken] = useState(false);
  const [token, setToken] = useState(metricsToken.get());
  const [pasted, setPasted] = useState('');
  const [error, setError] = useState<string>();

  useEffect(() => {
    let last = 0;
    let stopped = false;
    const poll = async () => {
      try {
        const answer = await opsSamples(last, token);
        if (stopped) return;
        setNeedsToken(false);
        setError(undefined);
        if (answer.samples.length > 0) {
          last = answer.samples[answer.samples.length - 1].t;
          setSamples((list) => [...list, ...answer.samples].filter((s) => s.t > last - WINDOW_MS));
        }
      } catch (e) {
        if (stopped) return;
        if (e instanceof ApiError && e.status === 401) setNeedsToken(true);
        else setError(e instanceof Error ? e.message : String(e));
      }
    };
    void poll();
    const timer = setInterval(poll, REFRESH_MS);
    return () => {
      stopped = true;
      clearInterval(timer);
    };
  }, [token]);

  const useToken = (event: Event) => {
    event.preventDefault();
    metricsToken.set(pasted.trim());
    setToken(pasted.trim());
  };

  return (
    <>
      <header class="top">
        <h1>Sync operations</h1>
        <p class="who">
          The last 15 minutes of this instance, refreshed every {REFRESH_MS / 1000} s. No user data.
        </p>
        <nav aria-label="Pages">
          <a href="/inspect">Inspector</a>
        </nav>
      </header>
      {needsToken ? (
        <main class="sign-in">
          <form class="card" onSubmit={useToken} aria-labelledby="metrics-title">
            <h2 id="metrics-title">Metrics token</h2>
            <p class="meta">
              This service sets METRICS_TOKEN: the dashboard needs it, like /metrics.
            </p>
            <label for="metrics-token">METRICS_TOKEN (kept in this tab only)</label>
            <input
              id="metrics-token"
              type="password"
              autoComplete="off"
              value={pasted}
              onInput={(e) => setPasted((e.target as HTMLInputElement).value)}
            />
            <button type="submit" disabled={pasted.trim() === ''}>
              Show the dashboard
            </button>
          </form>
        </main>
      ) : (
        <main class="charts" aria-busy={samples.length === 0}>
          {error && (
            <p class="error" role="alert">
              {error}
            </p>
          )}
          {CHARTS.map((spec) => (
            <Chart key={spec.id} spec={spec} samples={samples} />
          ))}
        </main>
      )}
    </>
  );
}

render(<Dashboard />, document.getElementById('app')!);
