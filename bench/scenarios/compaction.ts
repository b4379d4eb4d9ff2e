import { SyncClient } from '@sync-server/client';
import { execFile } from 'child_process';
import { resolve } from 'path';
import { promisify } from 'util';
import { applyChange, LocalRecord, stateKey } from '../../test/support/web-client-model';
import { row, Scenario, ScenarioResult } from '../lib/context';
import { HttpClient } from '../lib/http';
import { APP_ID, EPOCH, insertChange } from '../lib/records';
import { ROOT } from '../lib/service';
import { fmt, fmtRatio, nowMs, summarize, Summary } from '../lib/stats';

const USER = 'bench-compact-user';
const PUSHER = 'bench-compact-pusher';
const TABLE = 'notes';
const FIELDS = ['title', 'body', 'done', 'tags', 'priority'];

/** BENCH_COMPACT_RECORDS (default 10,000; 1,000 with --quick) records × 50 edits. */
function recordCount(quick: boolean): number {
  const raw = process.env.BENCH_COMPACT_RECORDS;
  return raw ? Number(raw) : quick ? 1_000 : 10_000;
}
const EDITS = 50;

/**
 * One statement per round (its own transaction, so rounds get their own tx_id): round 0
 * inserts every record, later rounds update 1–3 of its fields at the round's time, or
 * (2 %) soft-delete it. Old enough for the default minimum age.
 */
async function seedHistory(ctx: Parameters<Scenario['run']>[0], records: number): Promise<void> {
  await ctx.admin.query(`SELECT setseed(0.42)`);
  for (let round = 0; round < EDITS; round++) {
    const at = `2026-01-01T${String(Math.floor(round / 60)).padStart(2, '0')}:${String(round % 60).padStart(2, '0')}:00.000Z`;
    await ctx.admin.query(
      `INSERT INTO sync_changes (app_id, table_name, record_id, user_id, op, data, field_meta, client_id, created_at)
       SELECT $1, $2, 'rec-' || r, $3, e.op, e.data, e.meta, 'seed', now() - interval '100 days'
         FROM generate_series(1, $4::int) AS r
         CROSS JOIN LATERAL (
           SELECT CASE WHEN $5::int = 0 THEN 'insert' WHEN random() < 0.02 THEN 'delete' ELSE 'update' END AS kind,
                  floor(random() * 5)::int AS first, 1 + floor(random() * 3)::int AS n, r AS rr
         ) k
         CROSS JOIN LATERAL (
           SELECT k.kind AS op,
                  CASE k.kind
                    WHEN 'insert' THEN jsonb_build_object('title', 'Note ' || r, 'body', repeat('b', 60),
                      'done', false, 'tags', '[]'::jsonb, 'priority', 1, 'updatedAt', $6::text)
                    WHEN 'delete' THEN jsonb_build_object('deletedAt', $6::text)
                    ELSE (SELECT jsonb_object_agg(f, CASE f WHEN 'done' THEN to_jsonb(random() < 0.5)
                                                      WHEN 'priority' THEN to_jsonb(floor(random() * 5)::int)
                                                      WHEN 'tags' THEN jsonb_build_array('t' || $5::int)
                                                      ELSE to_jsonb(f || ' ' || $5::int || ' ' || repeat('x', 40)) END)
                            FROM (SELECT ($7::text[])[((k.first + i) % 5) + 1] AS f
                                    FROM generate_series(0, k.n - 1) i) s)
                  END AS data,
                  CASE k.kind WHEN 'update' THEN
                    (SELECT jsonb_object_agg(($7::text[])[((k.first + i) % 5) + 1], $6::text)
                       FROM generate_series(0, k.n - 1) i)
                  ELSE '{}'::jsonb END AS meta
         ) e
        ORDER BY r`,
      [APP_ID, TABLE, USER, records, round, at, FIELDS],
    );
  }
  await ctx.admin.query('VACUUM (ANALYZE) sync_changes');
}

interface PassReport {
  line: string;
  batches: number;
  rowsScanned: number;
  rowsRemoved: number;
  fieldsStripped: number;
  /** The pass's own duration, as the command reports it. */
  passMs: number;
}

/** `npm run compact` as operators run it (the built CLI), in its own process like the service. */
async function compactByCommand(databaseUrl: string): Promise<PassReport> {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    [resolve(ROOT, 'dist/src/cli/compact.cli.js')],
    { env: { ...process.env, DATABASE_URL: databaseUrl, DB_MIGRATE_ON_START: 'false' } },
  );
  const line = stdout.trim();
  const match =
    /scanned (\d+) rows of \d+ records in (\d+) batches, removed (\d+) rows, stripped (\d+) fields, (\d+) ms/.exec(
      line,
    );
  if (!match) throw new Error(`unexpected output of the compact command: ${line}`);
  const [, rowsScanned, batches, rowsRemoved, fieldsStripped, passMs] = match.map(Number);
  return { line, batches, rowsScanned, rowsRemoved, fieldsStripped, passMs };
}

interface CatchUp {
  ms: number;
  pages: number;
  changes: Record<string, unknown>[];
}

/** A new device's catch-up, as an app does it with the client package. */
async function catchUp(baseUrl: string, token: string, clientId: string): Promise<CatchUp> {
  const client = new SyncClient({
    baseUrl,
    appId: APP_ID,
    clientId,
    token,
    retry: { attempts: 1 },
  });
  const changes: Record<string, unknown>[] = [];
  let pages = 0;
  const begin = nowMs();
  for await (const page of client.pullAll(TABLE, EPOCH)) {
    pages++;
    changes.push(...page.changes);
  }
  return { ms: nowMs() - begin, pages, changes };
}

/** What a new device holds after applying the changes (the web client's merge, modelled). */
function deviceState(changes: Record<string, unknown>[]): Map<string, string> {
  const records = new Map<string, LocalRecord | undefined>();
  for (const change of changes) {
    const id = change.id as string;
    records.set(
      id,
      applyChange(records.get(id), change as Parameters<typeof applyChange>[1], EPOCH),
    );
  }
  return new Map([...records].map(([id, record]) => [id, stateKey(record)]));
}

/** Live records and their fields: what a snapshot of the data would hold. */
function liveSize(state: Map<string, string>): number {
  let size = 0;
  for (const key of state.values()) {
    if (key === 'missing') continue;
    size += 1 + (JSON.parse(key) as [unknown[]])[0].length;
  }
  return size;
}

interface Push {
  start: number;
  end: number;
}

async function pushLoop(
  http: HttpClient,
  token: string,
  until: () => boolean,
  minCount: number,
): Promise<{ pushes: Push[]; latency: Summary; failed: number }> {
  const pushes: Push[] = [];
  const latencies: number[] = [];
  let failed = 0;
  let since = EPOCH;
  while (latencies.length + failed < minCount || !until()) {
    const body = JSON.stringify({ clientId: `${PUSHER}-device`, since, changes: [insertChange()] });
    const begin = nowMs();
    const response = await http.json('POST', `/sync/${APP_ID}`, {
      token,
      clientId: `${PUSHER}-device`,
      body,
    });
    if (response.status === 200) {
      pushes.push({ start: begin, end: nowMs() });
      latencies.push(nowMs() - begin);
      since = response.body.syncedUntil;
    } else failed++;
    if (latencies.length + failed > 100_000) break;
  }
  return { pushes, latency: summarize(latencies), failed };
}

/** Issue 12: 10,000 records × 50 edits, before and after one compaction pass. */
export const compactionScenario: Scenario = {
  id: 'compact',
  title: 'Log compaction (12)',
  budgetMs: () => 30 * 60_000,
  async run(ctx): Promise<ScenarioResult> {
    const records = recordCount(ctx.quick);
    const notes: string[] = [];
    ctx.log(`compact: seeding ${fmt(records)} records × ${EDITS} edits`);
    const seedBegin = nowMs();
    await seedHistory(ctx, records);
    const count = async () =>
      Number(
        (
          await ctx.admin.query<{ n: string }>(
            `SELECT count(*) AS n FROM sync_changes WHERE user_id = $1`,
            [USER],
          )
        ).rows[0].n,
      );
    const rowsBefore = await count();
    ctx.log(`compact: ${fmt(rowsBefore)} rows in ${fmt((nowMs() - seedBegin) / 1000, 1)} s`);

    const token = await ctx.token(USER);
    const pusherToken = await ctx.token(PUSHER);
    const pushHttp = new HttpClient(ctx.service.url, 1);
    try {
      ctx.log('compact: full catch-up before');
      const before = await catchUp(ctx.service.url, token, 'bench-compact-new-1');
      const stateBefore = deviceState(before.changes);
      const live = liveSize(stateBefore);

      ctx.log('compact: small pushes without a pass');
      const quiet = await pushLoop(pushHttp, pusherToken, () => true, 300);

      ctx.log('compact: one pass, with small pushes meanwhile');
      let report: PassReport | undefined;
      const passBegin = nowMs();
      const pass = compactByCommand(ctx.db.url).then((r) => {
        report = r;
      });
      // The pass holds its advisory lock from its first batch to its last: pushes in that window count.
      let lockedFrom: number | undefined;
      let lockedUntil: number | undefined;
      const watch = (async () => {
        while (report === undefined) {
          const { rows } = await ctx.admin.query(
            `SELECT 1 FROM pg_locks WHERE locktype = 'advisory'
                AND ((classid::bigint << 32) | objid::bigint) = 7316245901442012`,
          );
          if (rows.length) {
            lockedFrom ??= nowMs();
            lockedUntil = nowMs();
          }
          await new Promise((done) => setTimeout(done, 10));
        }
      })();
      const all = await pushLoop(pushHttp, pusherToken, () => report !== undefined, 20);
      await Promise.all([pass, watch]);
      const inPass = all.pushes.filter(
        (p) => lockedFrom !== undefined && p.start >= lockedFrom && p.end <= lockedUntil!,
      );
      const during = {
        latency: summarize(inPass.map((p) => p.end - p.start)),
        failed: all.failed,
      };
      const commandMs = nowMs() - passBegin;
      const rowsAfter = await count();

      ctx.log('compact: full catch-up after');
      await ctx.admin.query('VACUUM (ANALYZE) sync_changes');
      const after = await catchUp(ctx.service.url, token, 'bench-compact-new-2');
      const stateAfter = deviceState(after.changes);
      let differing = 0;
      for (const [id, key] of stateBefore) if (stateAfter.get(id) !== key) differing++;
      if (stateAfter.size !== stateBefore.size)
        differing += Math.abs(stateAfter.size - stateBefore.size);
      if (differing) notes.push(`compact: ${differing} records end differently after compaction`);
      if (quiet.failed || during.failed) {
        notes.push(
          `compact: failed pushes: ${quiet.failed} without a pass, ${during.failed} during`,
        );
      }
      const r = report!;
      const passMs = r.passMs;
      const rowsPerSecond = r.rowsScanned / (passMs / 1000);
      notes.push(
        `compact: ${fmt(records)} records × ${EDITS} edits; pass: ${r.batches} batches, scanned ${fmt(r.rowsScanned)}, removed ${fmt(r.rowsRemoved)}, stripped ${fmt(r.fieldsStripped)} fields in ${fmt(passMs / 1000, 1)} s (the command ${fmt(commandMs / 1000, 1)} s with its start-up); ${during.latency.count} pushes during it; device states after = before: ${differing === 0}`,
      );
      const scenario = '12 compaction';
      return {
        rows: [
          row({
            scenario,
            metric: 'rows of the user before / after',
            service: `${fmt(rowsBefore)} / ${fmt(rowsAfter)}`,
            reference: `live records+fields ${fmt(live)}`,
            ratio: fmtRatio(rowsAfter / live),
          }),
          row({
            scenario,
            metric: 'new device catch-up rows before / after',
            service: `${fmt(before.changes.length)} / ${fmt(after.changes.length)}`,
            reference: `live ${fmt(live)}`,
            ratio: fmtRatio(after.changes.length / live),
            target: '≤ 1.5× live',
            met: after.changes.length <= 1.5 * live,
          }),
          row({
            scenario,
            metric: 'catch-up time before / after s',
            service: `${fmt(before.ms / 1000, 2)} / ${fmt(after.ms / 1000, 2)}`,
            reference: `${before.pages} / ${after.pages} pages`,
            ratio: fmtRatio(before.ms / after.ms),
            target: '≥ 10× faster',
            met: before.ms / after.ms >= 10,
          }),
          row({
            scenario,
            metric: 'compaction rows scanned / s',
            service: fmt(rowsPerSecond),
            reference: `removed ${fmt(r.rowsRemoved / (passMs / 1000))}/s`,
          }),
          row({
            scenario,
            metric: 'small push p99 during pass / without ms',
            service: `${fmt(during.latency.p99)} / ${fmt(quiet.latency.p99)}`,
            reference: `p50 ${fmt(during.latency.p50)} / ${fmt(quiet.latency.p50)}`,
            ratio: fmtRatio(during.latency.p99 / quiet.latency.p99),
            target: '≤ 2×',
            met: during.latency.p99 <= 2 * quiet.latency.p99,
          }),
        ],
        notes,
        figures: {
          records,
          edits: EDITS,
          rowsBefore,
          rowsAfter,
          live,
          catchUpBefore: { ms: before.ms, pages: before.pages, rows: before.changes.length },
          catchUpAfter: { ms: after.ms, pages: after.pages, rows: after.changes.length },
          pass: { ...r, commandMs, rowsPerSecond },
          pushWithout: quiet.latency,
          pushDuring: during.latency,
          differing,
        },
      };
    } finally {
      await pushHttp.close();
    }
  },
};
