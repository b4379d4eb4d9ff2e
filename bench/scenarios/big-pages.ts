import { row, Scenario, ScenarioResult } from '../lib/context';
import { HttpClient } from '../lib/http';
import { APP_ID, EPOCH } from '../lib/records';
import { fmt } from '../lib/stats';

const ROW_BYTES = 6 * 1024 * 1024;
const MB = 1024 * 1024;

/**
 * Issue 13 item 2: rows near the 10 MB body limit, caught up page by page. The
 * page's byte budget (SYNC_PAGE_MAX_BYTES) keeps each answer, and the service's
 * memory, bounded whatever the rows' size. Peak RSS on a fresh service.
 */
export const bigPagesScenario: Scenario = {
  id: 'bigpages',
  title: 'Pages of rows near the body limit (7)',
  freshService: true,
  budgetMs: (s) => 120_000 + s.push.durationMs,
  async run(ctx): Promise<ScenarioResult> {
    const rows = ctx.quick ? 20 : 60;
    const userId = 'bench-bigpages';
    const token = await ctx.token(userId);
    const http = new HttpClient(ctx.service.url, 1);
    try {
      // Written as the superuser, so the service's memory shows the reads alone.
      ctx.log(`big pages: inserting ${rows} rows of ${ROW_BYTES / MB} MB`);
      await ctx.admin.query(
        `INSERT INTO sync_changes
           (app_id, table_name, record_id, user_id, op, data, client_id, payload_bytes)
         SELECT $1, 'files', 'f' || i, $2, 'insert', d, 'bench-writer', pg_column_size(d)
           FROM generate_series(1, $3::int) i,
                LATERAL (SELECT jsonb_build_object('blob', rpad(i::text, $4::int, 'x')) AS d) x`,
        [APP_ID, userId, rows, ROW_BYTES],
      );
      const rssBefore = ctx.service.rssBytes();
      const hwmReset = ctx.service.resetPeakRss();
      const sampler = ctx.service.sampleRss(25);
      ctx.log('big pages: catching up from the epoch');
      const started = Date.now();
      let since = EPOCH;
      let pages = 0;
      let got = 0;
      let largest = 0;
      for (;;) {
        const { status, body, bytes } = await http.json(
          'GET',
          `/sync/${APP_ID}/pull?collection=files&since=${since}`,
          { token, clientId: `${userId}-reader` },
        );
        if (status !== 200) throw new Error(`pull → ${status}`);
        pages++;
        got += body.serverChanges.length;
        largest = Math.max(largest, bytes);
        since = body.syncedUntil;
        if (!body.hasMore) break;
      }
      const catchUpMs = Date.now() - started;
      const sampled = sampler.stop();
      const peak = Math.max(sampled.peakBytes, hwmReset ? ctx.service.peakRssBytes() : 0);
      const notes: string[] = [];
      if (got !== rows) notes.push(`big pages: got ${got} of ${rows} rows`);
      return {
        rows: [
          row({
            scenario: `7 pull ${rows} rows of ${ROW_BYTES / MB} MB`,
            metric: 'peak RSS MB / pages / largest answer MB',
            service: `${fmt(peak / MB)} / ${pages} / ${fmt(largest / MB, 1)}`,
            reference: `RSS before ${fmt(rssBefore / MB)} MB`,
            target: 'peak RSS < 300 MB',
            met: peak < 300 * MB && got === rows,
          }),
          row({
            scenario: `7 pull ${rows} rows of ${ROW_BYTES / MB} MB`,
            metric: 'catch-up s / MB per s',
            service: `${fmt(catchUpMs / 1000, 2)} / ${fmt((rows * ROW_BYTES) / MB / (catchUpMs / 1000))}`,
          }),
        ],
        notes,
        figures: {
          rows,
          rowBytes: ROW_BYTES,
          pages,
          got,
          largestAnswerBytes: largest,
          peakRssBytes: peak,
          catchUpMs,
          rssBefore,
        },
      };
    } finally {
      await http.close();
    }
  },
};
