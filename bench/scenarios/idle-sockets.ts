import { readFileSync } from 'fs';
import { row, Scenario, ScenarioResult } from '../lib/context';
import { fmt, mb, nowMs, sleep } from '../lib/stats';
import { closeDevices, openDevices } from '../lib/ws';

const TARGET_SOCKETS = 10_000;
const TARGET_RSS = 500 * 1024 * 1024;

function openFilesLimit(): number | undefined {
  const line = readFileSync('/proc/self/limits', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('Max open files'));
  const soft = line?.split(/\s{2,}/)[1];
  return soft === undefined || soft === 'unlimited' ? undefined : Number(soft);
}

/**
 * Memory settles after a burst: RSS is the median of a few samples a little
 * apart, heap the smallest (the one nearest after a collection: live data).
 */
async function settledMemory(read: () => Promise<{ rss: number; heap?: number }>) {
  const samples: { rss: number; heap?: number }[] = [];
  for (let i = 0; i < 8; i++) {
    await sleep(300);
    samples.push(await read());
  }
  const median = (values: number[]): number =>
    values.sort((a, b) => a - b)[Math.floor(values.length / 2)];
  const heaps = samples.map((s) => s.heap).filter((h): h is number => h !== undefined);
  return {
    rss: median(samples.map((s) => s.rss)),
    heap: heaps.length ? Math.min(...heaps) : undefined,
  };
}

/** N authenticated sockets that then say nothing; what each costs the service. */
export const idleSocketsScenario: Scenario = {
  id: 'idle',
  title: 'Idle sockets (5)',
  freshService: true,
  budgetMs: (s) => 60_000 + s.idle.sockets * 15,
  async run(ctx): Promise<ScenarioResult> {
    const { devicesPerUser, batch } = ctx.sizes.idle;
    let sockets = ctx.sizes.idle.sockets;
    const notes: string[] = [];
    const limits = { bench: openFilesLimit(), service: ctx.service.openFilesLimit() };
    const limit = Math.min(limits.bench ?? Infinity, limits.service ?? Infinity);
    if (limit < sockets + 1_000) {
      const fit = Math.max(100, Math.floor((limit - 1_000) / 100) * 100);
      notes.push(
        `idle sockets: ulimit -n is ${limit}, too low for ${sockets} sockets (needs about ${sockets + 1_000} in both processes): measured ${fit}; raise it with ulimit -n ${sockets + 2_000}`,
      );
      sockets = fit;
    }
    const users = Math.ceil(sockets / devicesPerUser);
    const userIds = Array.from({ length: users }, (_, u) => `bench-idle-${u}`);
    ctx.log(`idle sockets: ${sockets} sockets of ${users} users (tokens)`);
    const tokens = await Promise.all(userIds.map((u) => ctx.token(u)));
    const specs = Array.from({ length: sockets }, (_, i) => {
      const u = i % users;
      return { token: tokens[u], userId: userIds[u], clientId: `${userIds[u]}-device-${i}` };
    });
    const read = async () => ({
      rss: ctx.service.rssBytes(),
      heap: await ctx.service.heapUsedBytes(),
    });
    const before = await settledMemory(read);
    const opening = nowMs();
    let lastLog = 0;
    const devices = await openDevices(specs, ctx.service.url, {
      batch,
      path: '/ws/todo',
      onProgress: (n) => {
        if (n - lastLog >= 2_000) {
          lastLog = n;
          ctx.log(`idle sockets: ${n} open`);
        }
      },
    });
    const openSeconds = (nowMs() - opening) / 1000;
    let after: { rss: number; heap?: number };
    let reported: number | undefined;
    try {
      after = await settledMemory(read);
      reported = (await ctx.service.health())?.connections?.authenticatedWebsockets;
    } finally {
      await closeDevices(devices, 20_000);
    }
    if (reported !== undefined && reported < devices.length) {
      notes.push(
        `idle sockets: /health counts ${reported} authenticated sockets, ${devices.length} were opened`,
      );
    }
    const rssPerSocket = (after.rss - before.rss) / devices.length;
    const heapPerSocket =
      after.heap !== undefined && before.heap !== undefined
        ? (after.heap - before.heap) / devices.length
        : undefined;
    if (heapPerSocket === undefined) {
      notes.push(
        'idle sockets: the service exposes no nodejs_heap_size_used_bytes at /metrics: heap not measured',
      );
    }
    const at10k = before.rss + rssPerSocket * TARGET_SOCKETS;
    const extrapolated = devices.length < TARGET_SOCKETS;
    const total = extrapolated ? at10k : after.rss;
    return {
      rows: [
        row({
          scenario: `5 idle sockets, ${fmt(devices.length)}`,
          metric: 'RSS total; per socket',
          service: `${mb(after.rss)}; ${fmt(rssPerSocket / 1024, 1)} KB`,
          reference: `before ${mb(before.rss)}`,
          target: '≤ 500 MB at 10,000',
          met: total <= TARGET_RSS,
        }),
        row({
          scenario: '',
          metric: extrapolated ? 'RSS at 10,000 (extrapolated)' : 'heap used; per socket',
          service: extrapolated
            ? mb(at10k)
            : `${mb(after.heap)}; ${heapPerSocket === undefined ? 'n/a' : `${fmt(heapPerSocket / 1024, 1)} KB`}`,
          reference: extrapolated
            ? `heap per socket ${heapPerSocket === undefined ? 'n/a' : `${fmt(heapPerSocket / 1024, 1)} KB`}`
            : `heap before ${mb(before.heap)}`,
        }),
      ],
      notes,
      figures: {
        sockets: devices.length,
        users,
        openFilesLimit: limits,
        openSeconds,
        rssBeforeBytes: before.rss,
        rssAfterBytes: after.rss,
        rssPerSocketBytes: rssPerSocket,
        heapBeforeBytes: before.heap,
        heapAfterBytes: after.heap,
        heapPerSocketBytes: heapPerSocket,
        rssAt10kBytes: extrapolated ? at10k : after.rss,
        extrapolated,
      },
    };
  },
};
