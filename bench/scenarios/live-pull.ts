import { row, Scenario, ScenarioResult } from '../lib/context';
import { HttpClient } from '../lib/http';
import { connect, insertGoStyle, rawRows, userTransaction } from '../lib/raw';
import { APP_ID, EPOCH, insertChange } from '../lib/records';
import { rawRepository } from '../lib/repository';
import { fmt, fmtRatio, nowMs, summarize } from '../lib/stats';

const COLLECTION = 'todos';

/**
 * A live device's pull: one change arrives from the user's other device, then this device
 * pulls it from its cursor (the pull a hint prompts). Only the pull is timed. Reference: the
 * same page statements (horizon and page, prepared once per connection, as the service's)
 * straight over `pg` after a raw insert of one row.
 */
export const livePullScenario: Scenario = {
  id: 'livepull',
  title: "A live device's pull of one new change (2b)",
  budgetMs: (s) => (s.small.warmup + s.small.count) * 2 * 50 + 30_000,
  async run(ctx): Promise<ScenarioResult> {
    const { warmup, count } = ctx.sizes.small;
    const userId = 'bench-live-0';
    const token = await ctx.token(userId);
    const http = new HttpClient(ctx.service.url, 2);
    const serviceMs: number[] = [];
    let errors = 0;
    let firstError: string | undefined;
    ctx.log(`live pull: service, ${count} pulls of 1 new change`);
    let cpuBefore = ctx.service.cpuSplit();
    try {
      let writerSince = EPOCH;
      let readerSince = EPOCH;
      for (let i = 0; i < warmup + count; i++) {
        if (i === warmup) cpuBefore = ctx.service.cpuSplit();
        try {
          const pushed = await http.ok('POST', `/sync/${APP_ID}`, {
            token,
            clientId: 'writer',
            body: JSON.stringify({
              clientId: 'writer',
              since: writerSince,
              changes: [insertChange()],
            }),
          });
          writerSince = pushed.syncedUntil;
          const begin = nowMs();
          const pulled = await http.ok(
            'GET',
            `/sync/${APP_ID}/pull?collection=${COLLECTION}&since=${encodeURIComponent(readerSince)}`,
            { token, clientId: 'reader' },
          );
          if (i >= warmup) serviceMs.push(nowMs() - begin);
          // The first pull catches up from the epoch; every later one gets exactly the new change.
          if (i > 0 && pulled.serverChanges.length !== 1) {
            throw new Error(`pull ${i} got ${pulled.serverChanges.length} changes, not 1`);
          }
          readerSince = pulled.syncedUntil;
        } catch (error) {
          errors++;
          firstError ??= String(error);
          if (errors > 20) break;
        }
      }
    } finally {
      await http.close();
    }
    const cpuAfter = ctx.service.cpuSplit();
    const cpuMsPerRound =
      ((cpuAfter.user - cpuBefore.user + cpuAfter.system - cpuBefore.system) * 1000) / count;

    ctx.log('live pull: the same statements raw over pg');
    const client = await connect(ctx.db.url);
    const rawMs: number[] = [];
    const rawUser = 'bench-live-raw';
    try {
      const repository = rawRepository(client, rawUser);
      let after = { txId: 0n, seq: 0n };
      for (let i = 0; i < warmup + count; i++) {
        const [r] = rawRows(rawUser, 'writer', 1);
        await userTransaction(client, ctx.rlsRole, rawUser, () => insertGoStyle(client, r));
        const begin = nowMs();
        const page = await userTransaction(client, ctx.rlsRole, rawUser, () =>
          repository.changesSince({
            appId: r.app_id,
            tableName: r.table_name,
            after,
            excludeClientId: 'reader',
            limit: 1001,
            maxBytes: 4 * 1024 * 1024,
          }),
        );
        if (i >= warmup) rawMs.push(nowMs() - begin);
        const last = page.rows[page.rows.length - 1];
        if (last) after = { txId: BigInt(last.txId), seq: BigInt(last.seq) };
      }
    } finally {
      await client.end();
    }

    const s = summarize(serviceMs);
    const r = summarize(rawMs);
    const notes: string[] = [];
    if (errors) notes.push(`live pull: ${errors} failed (${firstError})`);
    return {
      rows: [
        row({
          scenario: '2b live pull, 1 new change',
          metric: 'pull latency p50 / p99 ms',
          service: `${fmt(s.p50)} / ${fmt(s.p99)}`,
          reference: `raw page ${fmt(r.p50)} / ${fmt(r.p99)}`,
          ratio: fmtRatio(s.p50 / r.p50),
          target: 'p50 ≤ 2× raw',
          met: s.p50 / r.p50 <= 2,
        }),
        row({
          scenario: '',
          metric: 'service CPU per push + pull, ms',
          service: fmt(cpuMsPerRound),
        }),
      ],
      notes,
      figures: { samples: serviceMs.length, service: s, raw: r, cpuMsPerRound, errors },
    };
  },
};
