import { row, Scenario, ScenarioResult } from '../lib/context';
import { HttpClient } from '../lib/http';
import { serialLoop } from '../lib/load';
import { connect, insertGoStyle, rawRows, userTransaction } from '../lib/raw';
import { APP_ID, EPOCH, insertChange } from '../lib/records';
import { fmt, fmtRatio } from '../lib/stats';

/** One client, one change per push, each push waiting for the previous answer. */
export const smallPushScenario: Scenario = {
  id: 'small',
  title: 'Small push latency (2)',
  budgetMs: (s) => (s.small.warmup + s.small.count) * 2 * 50 + 30_000,
  async run(ctx): Promise<ScenarioResult> {
    const { warmup, count } = ctx.sizes.small;
    const userId = 'bench-small-0';
    const clientId = `${userId}-device`;
    const token = await ctx.token(userId);
    const http = new HttpClient(ctx.service.url, 1);
    let since = EPOCH;
    ctx.log(`small push: service, ${count} pushes of 1 change`);
    const service = await serialLoop({
      warmup,
      count,
      maxMs: 60_000,
      operation: async () => {
        const body = JSON.stringify({ clientId, since, changes: [insertChange()] });
        const response = await http.ok('POST', `/sync/${APP_ID}`, { token, clientId, body });
        since = response.syncedUntil;
      },
    }).finally(() => http.close());

    ctx.log(`small push: raw single-row transaction over pg`);
    const client = await connect(ctx.db.url);
    const rawUser = 'bench-small-raw';
    const raw = await serialLoop({
      warmup,
      count,
      maxMs: 60_000,
      operation: async () => {
        const [r] = rawRows(rawUser, `${rawUser}-device`, 1);
        await userTransaction(client, ctx.rlsRole, rawUser, () => insertGoStyle(client, r));
      },
    }).finally(() => client.end());

    const notes: string[] = [];
    if (service.errors) notes.push(`small push: ${service.errors} failed (${service.firstError})`);
    if (raw.errors) notes.push(`small push raw: ${raw.errors} failed (${raw.firstError})`);
    const s = service.latencyMs;
    const r = raw.latencyMs;
    return {
      rows: [
        row({
          scenario: '2 small push, 1 client',
          metric: 'latency p50 / p99 ms',
          service: `${fmt(s.p50)} / ${fmt(s.p99)}`,
          reference: `raw tx ${fmt(r.p50)} / ${fmt(r.p99)}`,
          ratio: fmtRatio(s.p50 / r.p50),
          target: 'p50 ≤ 2× raw',
          met: s.p50 / r.p50 <= 2,
        }),
      ],
      notes,
      figures: { samples: service.samples, service: s, raw: r, errors: service.errors },
    };
  },
};
