import { row, Scenario, ScenarioResult } from '../lib/context';
import { HttpClient } from '../lib/http';
import { PAGE, PAGE_BYTES, pullPages, rawPages } from '../lib/pages';
import { connect, userTransaction } from '../lib/raw';
import { explainPage, PlanSummary, rawRepository } from '../lib/repository';
import { APP_ID, EPOCH } from '../lib/records';
import { fmt, fmtRatio, nowMs, summarize } from '../lib/stats';
import { START } from '../../src/store/log-position';

const COLLECTION = 'todos';
const READER = 'bench-pull-reader';

/** One user's catch-up from the epoch, page by page, over HTTP and raw over `pg`. */
export const pullScenario: Scenario = {
  id: 'pull',
  title: 'Pull catch-up (3)',
  budgetMs: (s) => 60_000 + s.pull.repeats * (s.pull.totalRows / 10 / PAGE) * 2 * 600,
  async run(ctx): Promise<ScenarioResult> {
    const { repeats } = ctx.sizes.pull;
    const { pullUser: userId, pullUserRows: expected } = ctx.seeded;
    const maxPages = Math.ceil(expected / PAGE) + 5;
    const notes: string[] = [];
    const token = await ctx.token(userId);
    const http = new HttpClient(ctx.service.url, 1);
    const pageMs: number[] = [];
    let serviceRows = 0;
    let serviceMs = 0;
    let bytes = 0;
    ctx.log(`pull: service, ${repeats} catch-ups of ${expected} rows`);
    const cpuBefore = ctx.service.cpuSplit();
    try {
      for (let r = 0; r < repeats; r++) {
        const begin = nowMs();
        const got = await pullPages(http, { token, clientId: READER }, COLLECTION, EPOCH, maxPages);
        serviceMs += nowMs() - begin;
        pageMs.push(...got.pageMs);
        serviceRows += got.eventIds.length;
        bytes += got.bytes;
        const seen = new Set(got.eventIds).size;
        if (seen !== expected) {
          notes.push(`pull: catch-up ${r + 1} got ${seen} distinct changes, expected ${expected}`);
        }
      }
    } finally {
      await http.close();
    }
    // The service's own work per page (process CPU): steadier than latency on a shared machine.
    const cpuAfter = ctx.service.cpuSplit();
    const userMsPerPage = ((cpuAfter.user - cpuBefore.user) * 1000) / pageMs.length;
    const systemMsPerPage = ((cpuAfter.system - cpuBefore.system) * 1000) / pageMs.length;
    const cpuMsPerPage = userMsPerPage + systemMsPerPage;

    ctx.log('pull: the same statements raw over pg');
    const client = await connect(ctx.db.url);
    const rawPageMs: number[] = [];
    let rawRows = 0;
    let rawMs = 0;
    let plan: PlanSummary | undefined;
    try {
      // The first page's statement as PostgreSQL plans it (EXPLAIN ANALYZE, not timed).
      const explaining = rawRepository(client, userId, (query) => async (sql, params) => {
        if (!plan && /ORDER BY tx_id, seq/.test(sql)) plan = await explainPage(client, sql, params);
        return query(sql, params);
      });
      await userTransaction(client, ctx.rlsRole, userId, () =>
        explaining.changesSince({
          appId: APP_ID,
          tableName: COLLECTION,
          after: START,
          excludeClientId: READER,
          limit: PAGE + 1,
          maxBytes: PAGE_BYTES,
        }),
      );
      for (let r = 0; r < repeats; r++) {
        const begin = nowMs();
        const got = await rawPages(
          client,
          ctx.rlsRole,
          { userId, clientId: READER },
          COLLECTION,
          START,
          maxPages,
        );
        rawMs += nowMs() - begin;
        rawPageMs.push(...got.pageMs);
        rawRows += got.rows;
      }
    } finally {
      await client.end();
    }

    if (plan) {
      notes.push(
        `pull: the first page's statement read ${fmt(plan.rowsScanned)} rows to return ${PAGE + 1} (${plan.shape}; ${fmt(plan.executionMs)} ms)`,
      );
    }
    // Pages of one catch-up should cost the same; a first page far slower than the last means
    // each page reads the rows still ahead of the cursor.
    const perCatchUp = Math.floor(pageMs.length / repeats);
    const firstPages = summarize(
      pageMs.filter((_, i) => i % perCatchUp < Math.max(1, perCatchUp / 10)),
    );
    const lastPages = summarize(
      pageMs.filter((_, i) => i % perCatchUp >= perCatchUp - Math.max(1, perCatchUp / 10)),
    );
    if (perCatchUp >= 5 && firstPages.p50 > 2 * lastPages.p50) {
      notes.push(
        `pull: page time falls as the cursor advances (first pages p50 ${fmt(firstPages.p50)} ms, last pages ${fmt(lastPages.p50)} ms): a page's cost grows with the user's rows after the cursor`,
      );
    }
    const s = summarize(pageMs);
    const raw = summarize(rawPageMs);
    const serviceRate = (serviceRows * 1000) / serviceMs;
    const rawRate = (rawRows * 1000) / rawMs;
    const label = `3 pull, ${fmt(expected)} rows in ${fmt(ctx.sizes.pull.totalRows)}`;
    return {
      rows: [
        row({
          scenario: label,
          metric: 'page p50 / p99 ms',
          service: `${fmt(s.p50)} / ${fmt(s.p99)}`,
          reference: `raw pg ${fmt(raw.p50)} / ${fmt(raw.p99)}`,
          ratio: fmtRatio(s.p50 / raw.p50),
          target: 'p50 ≤ 1.5× raw',
          met: s.p50 / raw.p50 <= 1.5,
        }),
        row({
          scenario: '',
          metric: 'rows/s',
          service: fmt(serviceRate),
          reference: `raw pg ${fmt(rawRate)}`,
          ratio: fmtRatio(serviceRate / rawRate),
        }),
        row({
          scenario: '',
          metric: 'service CPU per page ms',
          service: fmt(cpuMsPerPage, 2),
          reference: `process CPU over the catch-ups ÷ pages (user ${fmt(userMsPerPage, 2)}, kernel ${fmt(systemMsPerPage, 2)})`,
        }),
      ],
      notes,
      figures: {
        tableRows: ctx.sizes.pull.totalRows,
        users: ctx.sizes.pull.users,
        userRows: expected,
        repeats,
        pages: pageMs.length,
        meanResponseBytes: bytes / Math.max(1, pageMs.length),
        firstPagesMs: firstPages,
        lastPagesMs: lastPages,
        plan,
        service: {
          pageMs: s,
          rowsPerSecond: serviceRate,
          rows: serviceRows,
          cpuMsPerPage,
          userMsPerPage,
          systemMsPerPage,
        },
        raw: { pageMs: raw, rowsPerSecond: rawRate, rows: rawRows },
      },
    };
  },
};
