import { row, Scenario, ScenarioResult } from '../lib/context';
import { HttpClient } from '../lib/http';
import { APP_ID, EPOCH } from '../lib/records';
import { fmt } from '../lib/stats';

const MB = 1024 * 1024;
const RECORD_BYTES = 4 * MB;
const PER_PUSH = 2;
const TARGET_PEAK = 300 * MB;
const TARGET_LEFT = 100 * MB;

/**
 * Issue 20: large request bodies, as a new user would send them. Pushes of two 4 MB records
 * (8 MB bodies, under the 10 MB limit), then a pull of them all, on a fresh service. Peak
 * RSS over both, and RSS a while after (60 s; 5 s with --quick) against the idle figure
 * before: memory a large body leaves behind shows there.
 */
export const largePushScenario: Scenario = {
  id: 'largepush',
  title: 'Pushes of 8 MB bodies, then their pull (8)',
  freshService: true,
  budgetMs: (s) => 240_000 + s.push.durationMs,
  async run(ctx): Promise<ScenarioResult> {
    const pushes = ctx.quick ? 10 : 30;
    const waitMs = ctx.quick ? 5_000 : 60_000;
    const userId = 'bench-largepush';
    const token = await ctx.token(userId);
    const http = new HttpClient(ctx.service.url, 1);
    const notes: string[] = [];
    try {
      const idle = ctx.service.rssBytes();
      const hwmReset = ctx.service.resetPeakRss();
      const sampler = ctx.service.sampleRss(25);
      ctx.log(`large push: ${pushes} pushes of ${PER_PUSH} records of ${RECORD_BYTES / MB} MB`);
      const started = Date.now();
      for (let p = 0; p < pushes; p++) {
        // Distinct text per record, so that nothing is shared or compressed away.
        const changes = Array.from({ length: PER_PUSH }, (_, i) => ({
          table: 'files',
          id: `f${p}-${i}`,
          op: 'insert',
          data: { blob: `${p}-${i}:`.padEnd(RECORD_BYTES, 'abcdefghij'[(p + i) % 10]) },
        }));
        const body = JSON.stringify({ clientId: `${userId}-writer`, since: EPOCH, changes });
        const { status } = await http.json('POST', `/sync/${APP_ID}`, { token, body });
        if (status !== 200) throw new Error(`push → ${status}`);
      }
      const pushMs = Date.now() - started;
      const afterPushes = ctx.service.rssBytes();
      let since = EPOCH;
      let got = 0;
      for (;;) {
        const { status, body } = await http.json(
          'GET',
          `/sync/${APP_ID}/pull?collection=files&since=${since}`,
          { token, clientId: `${userId}-reader` },
        );
        if (status !== 200) throw new Error(`pull → ${status}`);
        got += body.serverChanges.length;
        since = body.syncedUntil;
        if (!body.hasMore) break;
      }
      const sampled = sampler.stop();
      const peak = Math.max(sampled.peakBytes, hwmReset ? ctx.service.peakRssBytes() : 0);
      ctx.log(`large push: waiting ${waitMs / 1000} s for the RSS left behind`);
      await new Promise((resolve) => setTimeout(resolve, waitMs));
      const later = ctx.service.rssBytes();
      if (got !== pushes * PER_PUSH)
        notes.push(`large push: pulled ${got} of ${pushes * PER_PUSH}`);
      const label = `8 push ${pushes} × ${PER_PUSH} records of ${RECORD_BYTES / MB} MB, pull`;
      return {
        rows: [
          row({
            scenario: label,
            metric: 'peak RSS MB',
            service: fmt(peak / MB),
            reference: `idle before ${fmt(idle / MB)} MB; after the pushes ${fmt(afterPushes / MB)} MB`,
            target: '≤ 300 MB',
            met: peak <= TARGET_PEAK && got === pushes * PER_PUSH,
          }),
          row({
            scenario: '',
            metric: `RSS ${waitMs / 1000} s later MB`,
            service: fmt(later / MB),
            reference: `idle before ${fmt(idle / MB)} MB`,
            target: '≤ idle + 100 MB',
            met: later - idle <= TARGET_LEFT,
          }),
        ],
        notes,
        figures: {
          pushes,
          recordsPerPush: PER_PUSH,
          recordBytes: RECORD_BYTES,
          pushMs,
          idleRssBytes: idle,
          afterPushesRssBytes: afterPushes,
          peakRssBytes: peak,
          laterRssBytes: later,
          waitMs,
          pulled: got,
        },
      };
    } finally {
      await http.close();
    }
  },
};
