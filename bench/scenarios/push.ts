import { randomUUID } from 'crypto';
import { Client, Pool } from 'pg';
import type { NewChange } from '../../src/store/change.repository';
import { BenchContext, row, Scenario, ScenarioResult } from '../lib/context';
import { HttpClient } from '../lib/http';
import { closedLoop, ClosedLoopResult } from '../lib/load';
import {
  connectMany,
  endAll,
  insertGoStyle,
  insertOneByOne,
  insertRecordset,
  insertValues,
  RawRow,
  rawRows,
  userTransaction,
} from '../lib/raw';
import { APP_ID, EPOCH, insertChange } from '../lib/records';
import { rawRepository } from '../lib/repository';
import { fmt, fmtRatio, sleep } from '../lib/stats';
import { describeWaits, sampleWaits, WaitSample } from '../lib/waits';
import { closeDevices, DeviceSocket, openDevices } from '../lib/ws';

type Insert = (client: Client, rows: RawRow[]) => Promise<void>;

/** The same batches straight into PostgreSQL over `pg`, one connection per client, same set_config. */
async function rawBatches(ctx: BenchContext, label: string, insert: Insert) {
  const { workers, batch, warmupMs, durationMs } = ctx.sizes.push;
  const clients = await connectMany(ctx.db.url, workers);
  const waits = sampleWaits(ctx.admin, ctx.db.name, 'sync-bench');
  try {
    return await closedLoop({
      workers,
      warmupMs,
      durationMs,
      operation: async (w) => {
        const userId = `bench-ref-${label}-${w}`;
        const rows = rawRows(userId, `bench-ref-device-${w}`, batch);
        await userTransaction(clients[w], ctx.rlsRole, userId, () => insert(clients[w], rows));
        return batch;
      },
    }).then(async (result) => ({ ...result, waits: await waits.stop() }));
  } finally {
    await waits.stop();
    await endAll(clients);
  }
}

/** The service's pool size (DB_POOL_SIZE, default 10). */
export function servicePoolSize(): number {
  return Number(process.env.DB_POOL_SIZE || 10);
}

/**
 * Diagnostic reference: the statements the service runs per push (set_config,
 * its insertBatch with the horizon in it and the read-back page of changesSince
 * pipelined behind it, COMMIT), straight over `pg` with a pool as large as the
 * service's: what the push costs the database without HTTP, Nest or TypeORM.
 */
async function rawServiceSql(ctx: BenchContext) {
  const { workers, batch, warmupMs, durationMs } = ctx.sizes.push;
  const pool = new Pool({
    connectionString: ctx.db.url,
    max: servicePoolSize(),
    application_name: 'sync-bench',
    pipeline: true,
  } as ConstructorParameters<typeof Pool>[0]);
  const after = Array.from({ length: workers }, () => ({ txId: 0n, seq: 0n }));
  const waits = sampleWaits(ctx.admin, ctx.db.name, 'sync-bench');
  try {
    return await closedLoop({
      workers,
      warmupMs,
      durationMs,
      operation: async (w) => {
        const userId = `bench-ref-sql-${w}`;
        const clientId = `${userId}-device`;
        const changes: NewChange[] = Array.from({ length: batch }, () => {
          const change = insertChange();
          return {
            appId: APP_ID,
            tableName: change.table,
            recordId: change.id,
            spaceId: null,
            op: change.op,
            data: change.data,
            fieldMeta: {},
            clientId,
            schemaVersion: 1,
            actor: null,
            origin: null,
          };
        });
        const client = await pool.connect();
        try {
          await userTransaction(client, ctx.rlsRole, userId, async () => {
            const repository = rawRepository(client, userId);
            const stored = repository.insertBatch(changes);
            const [, page] = await Promise.all([
              stored,
              repository.changesSince({
                appId: APP_ID,
                after: after[w],
                excludeClientId: clientId,
                limit: 1001,
                maxBytes: 4 * 1024 * 1024,
                horizon: stored.then((s) => s.horizon),
              }),
            ]);
            const last = page.rows[Math.min(page.rows.length, 1000) - 1];
            after[w] =
              page.rows.length > 1000
                ? { txId: BigInt(last.txId), seq: BigInt(last.seq) }
                : { txId: page.horizon, seq: 0n };
          });
        } finally {
          client.release();
        }
        return batch;
      },
    }).then(async (result) => ({ ...result, waits: await waits.stop() }));
  } finally {
    await waits.stop();
    await pool.end();
  }
}

/** One push as the web client makes it; resolves the cursor to send next. */
async function push(
  http: HttpClient,
  token: string,
  clientId: string,
  since: string,
  changes: unknown[],
): Promise<string> {
  const body = JSON.stringify({ clientId, since, changes });
  const response = await http.ok('POST', `/sync/${APP_ID}`, { token, clientId, body });
  return response.syncedUntil;
}

/** Each client a different user, pushing batches and following syncedUntil as the web client does. */
async function serviceBatches(ctx: BenchContext) {
  const { workers, batch, warmupMs, durationMs } = ctx.sizes.push;
  const http = new HttpClient(ctx.service.url, workers);
  const users = Array.from({ length: workers }, (_, w) => `bench-push-${w}`);
  const tokens = await Promise.all(users.map((u) => ctx.token(u)));
  const cursors = users.map(() => EPOCH);
  let stored = 0;
  const waits = sampleWaits(ctx.admin, ctx.db.name);
  try {
    const result = await closedLoop({
      workers,
      warmupMs,
      durationMs,
      operation: async (w) => {
        const changes = Array.from({ length: batch }, () => insertChange());
        cursors[w] = await push(http, tokens[w], `${users[w]}-device`, cursors[w], changes);
        stored += batch;
        return batch;
      },
    });
    const { rows } = await ctx.admin.query<{ n: string }>(
      `SELECT count(*) AS n FROM sync_changes WHERE user_id LIKE 'bench-push-%'`,
    );
    return { result, acknowledged: stored, found: Number(rows[0].n), waits: await waits.stop() };
  } finally {
    await waits.stop();
    await http.close();
  }
}

/** One change per push, 32 clients, a listening second device per user (realtime on). */
async function serviceSingles(ctx: BenchContext) {
  const { workers, warmupMs, durationMs } = ctx.sizes.single;
  const users = Array.from({ length: workers }, (_, w) => `bench-single-${w}`);
  const tokens = await Promise.all(users.map((u) => ctx.token(u)));
  const listeners: DeviceSocket[] = await openDevices(
    users.map((userId, w) => ({ token: tokens[w], userId, clientId: `${userId}-listener` })),
    ctx.service.url,
    { batch: 50, path: `/ws/${APP_ID}` },
  );
  const http = new HttpClient(ctx.service.url, workers);
  const cursors = users.map(() => EPOCH);
  let acknowledged = 0;
  const waits = sampleWaits(ctx.admin, ctx.db.name);
  try {
    const result = await closedLoop({
      workers,
      warmupMs,
      durationMs,
      operation: async (w) => {
        cursors[w] = await push(http, tokens[w], `${users[w]}-pusher`, cursors[w], [
          insertChange(),
        ]);
        acknowledged++;
        return 1;
      },
    });
    await sleep(500);
    const notified = listeners.reduce((sum, d) => sum + d.syncAvailable, 0);
    return { result, acknowledged, notified, waits: await waits.stop() };
  } finally {
    await waits.stop();
    await http.close();
    await closeDevices(listeners);
  }
}

/** A single-row user transaction over `pg`, with or without a pg_notify like the service's. */
async function rawSingles(ctx: BenchContext, notify: boolean) {
  const { workers, warmupMs, durationMs } = ctx.sizes.single;
  const clients = await connectMany(ctx.db.url, workers);
  const instance = randomUUID();
  const waits = sampleWaits(ctx.admin, ctx.db.name, 'sync-bench');
  try {
    return await closedLoop({
      workers,
      warmupMs,
      durationMs,
      operation: async (w) => {
        const userId = `bench-ref-single-${notify ? 'n' : 'p'}-${w}`;
        const [r] = rawRows(userId, `${userId}-device`, 1);
        await userTransaction(clients[w], ctx.rlsRole, userId, async () => {
          await insertGoStyle(clients[w], r);
          if (notify) {
            // Another channel than the service's, so its listener does not see these.
            await clients[w].query('SELECT pg_notify($1, $2)', [
              'sync_bench_reference',
              JSON.stringify({
                instance,
                appId: APP_ID,
                userId,
                clientId: r.client_id,
                tables: ['todos'],
                spaceIds: [],
                txId: '0',
              }),
            ]);
          }
        });
        return 1;
      },
    }).then(async (result) => ({ ...result, waits: await waits.stop() }));
  } finally {
    await waits.stop();
    await endAll(clients);
  }
}

function brief(r: ClosedLoopResult & { waits?: WaitSample[] }) {
  return {
    waits: r.waits,
    perSecond: r.itemsPerSecond,
    operationsPerSecond: r.operationsPerSecond,
    operations: r.operations,
    windowMs: r.windowMs,
    latencyMs: r.latencyMs,
    errors: r.errors,
    firstError: r.firstError,
  };
}

export const pushScenario: Scenario = {
  id: 'push',
  title: 'Push throughput (1)',
  budgetMs: (s) =>
    5 * (s.push.warmupMs + s.push.durationMs) +
    3 * (s.single.warmupMs + s.single.durationMs) +
    90_000,
  async run(ctx): Promise<ScenarioResult> {
    const { workers, batch } = ctx.sizes.push;
    const notes: string[] = [];
    ctx.log(`push: ceiling, multi-row INSERT ... VALUES (${workers} connections)`);
    const values = await rawBatches(ctx, 'values', insertValues);
    ctx.log(`push: ceiling, INSERT ... SELECT FROM jsonb_to_recordset($1)`);
    const recordset = await rawBatches(ctx, 'recordset', insertRecordset);
    ctx.log(`push: Go pattern, one INSERT per change`);
    const go = await rawBatches(ctx, 'go', insertOneByOne);
    ctx.log(`push: the service's statements raw over pg (pool of ${servicePoolSize()})`);
    const serviceSql = await rawServiceSql(ctx);
    ctx.log(`push: service, ${workers} clients × ${batch} changes`);
    const cpuBefore = ctx.service.cpuSeconds();
    const service = await serviceBatches(ctx);
    const serviceCpu = ctx.service.cpuSeconds() - cpuBefore;

    const ceiling = values.itemsPerSecond >= recordset.itemsPerSecond ? values : recordset;
    const ceilingName = ceiling === values ? 'VALUES' : 'jsonb_to_recordset';
    const s = service.result;
    const toCeiling = s.itemsPerSecond / ceiling.itemsPerSecond;
    const toGo = s.itemsPerSecond / go.itemsPerSecond;
    if (s.errors > 0) notes.push(`push: ${s.errors} failed pushes (${s.firstError})`);
    if (service.found < service.acknowledged) {
      notes.push(
        `push: only ${service.found} of ${service.acknowledged} acknowledged changes are in the table`,
      );
    }
    const cpuWindow = (ctx.sizes.push.warmupMs + ctx.sizes.push.durationMs) / 1000;
    notes.push(
      `push: the service process used ${fmt(serviceCpu / cpuWindow, 2)} cores on average during its batch run (its JavaScript runs on one thread, so about 1 core is its ceiling; PostgreSQL and the load generator share the 2 cores)`,
    );

    ctx.log('push: single-change pushes with realtime listeners');
    const singlesCpuBefore = ctx.service.cpuSeconds();
    const singles = await serviceSingles(ctx);
    const singlesCpu = ctx.service.cpuSeconds() - singlesCpuBefore;
    const singlesCores =
      singlesCpu / ((ctx.sizes.single.warmupMs + ctx.sizes.single.durationMs) / 1000 + 0.5);
    // The process's CPU over the whole window (warm-up included) per push acknowledged in it.
    const cpuMsPerBatch = (serviceCpu * 1000) / (service.acknowledged / batch);
    const cpuMsPerSingle = (singlesCpu * 1000) / singles.acknowledged;
    ctx.log('push: raw single-row transactions, with and without pg_notify');
    const rawNotify = await rawSingles(ctx, true);
    const rawPlain = await rawSingles(ctx, false);
    const notifyCost = rawNotify.itemsPerSecond / rawPlain.itemsPerSecond;
    const singleToNotify = singles.result.itemsPerSecond / rawNotify.itemsPerSecond;
    // No push sends a NOTIFY any more: the reference is the plain transaction.
    const singleToRaw = singles.result.itemsPerSecond / rawPlain.itemsPerSecond;
    // NOTIFY's commit lock shows in pg_stat_activity as a heavyweight lock on an object.
    const lockShare = (waits: WaitSample[]): number =>
      waits.find((w) => w.event === 'Lock:object')?.share ?? 0;
    const singleLock = lockShare(singles.waits);
    const capped =
      (notifyCost < 0.85 && singleToNotify >= 0.8) || (singleLock >= 0.5 && singlesCores < 0.7);
    const facts = `raw commits with pg_notify run at ${fmtRatio(notifyCost)} of those without; the service reaches ${fmtRatio(singleToNotify)} of the raw NOTIFY rate, its process at ${fmt(singlesCores, 2)} cores, its database sessions ${(singleLock * 100).toFixed(0)}% of their active time waiting for NOTIFY's commit lock (Lock:object; ${(lockShare(service.waits) * 100).toFixed(0)}% during batch pushes)`;
    const verdict = capped
      ? `NOTIFY caps it: ${facts}`
      : `NOTIFY does not cap it in this run: ${facts}`;
    notes.push(`single-change pushes: ${verdict}`);
    notes.push(
      `push: what the service's database sessions waited on (pg_stat_activity samples): batches ${describeWaits(service.waits)} (its SQL raw over pg: ${describeWaits(serviceSql.waits)}); single changes ${describeWaits(singles.waits)}; raw tx+NOTIFY ${describeWaits(rawNotify.waits)}`,
    );
    if (singles.notified < singles.acknowledged) {
      notes.push(
        `single-change pushes: ${singles.notified} sync-available for ${singles.acknowledged} acknowledged pushes`,
      );
    }

    const rows = [
      row({
        scenario: `1 push ${workers}×${batch}`,
        metric: 'changes/s',
        service: fmt(s.itemsPerSecond),
        reference: `ceiling ${fmt(ceiling.itemsPerSecond)} (${ceilingName}; ${ceiling === values ? 'recordset' : 'VALUES'} ${fmt((ceiling === values ? recordset : values).itemsPerSecond)})`,
        ratio: fmtRatio(toCeiling),
        target: '≥ 0.80× ceiling',
        met: toCeiling >= 0.8,
      }),
      row({
        scenario: '',
        metric: 'changes/s vs Go pattern',
        service: fmt(s.itemsPerSecond),
        reference: `Go pattern ${fmt(go.itemsPerSecond)}`,
        ratio: fmtRatio(toGo),
        target: '≥ 3× Go',
        met: toGo >= 3,
      }),
      row({
        scenario: '',
        metric: 'batch latency p50 / p99 ms',
        service: `${fmt(s.latencyMs.p50)} / ${fmt(s.latencyMs.p99)}`,
        reference: `ceiling ${fmt(ceiling.latencyMs.p50)} / ${fmt(ceiling.latencyMs.p99)}; Go ${fmt(go.latencyMs.p50)} / ${fmt(go.latencyMs.p99)}`,
        ratio: fmtRatio(s.latencyMs.p50 / ceiling.latencyMs.p50),
      }),
      row({
        scenario: '',
        metric: `changes/s vs its own SQL raw (pool ${servicePoolSize()})`,
        service: fmt(s.itemsPerSecond),
        reference: `service SQL over pg ${fmt(serviceSql.itemsPerSecond)}`,
        ratio: fmtRatio(s.itemsPerSecond / serviceSql.itemsPerSecond),
      }),
      row({
        scenario: `1b push 1 change, ${ctx.sizes.single.workers} clients`,
        metric: 'pushes/s (realtime on)',
        service: fmt(singles.result.itemsPerSecond),
        reference: `raw tx ${fmt(rawPlain.itemsPerSecond)} (with pg_notify ${fmt(rawNotify.itemsPerSecond)})`,
        ratio: fmtRatio(singleToRaw),
        target: '≥ 0.60× raw tx',
        met: singleToRaw >= 0.6,
      }),
      row({
        scenario: '1c service CPU per push',
        metric: `ms (${batch} changes / 1 change)`,
        service: `${fmt(cpuMsPerBatch, 2)} / ${fmt(cpuMsPerSingle, 2)}`,
        reference: 'process CPU over the window ÷ pushes acknowledged',
        target: '≤ 2.5 / 0.7 ms',
        met: cpuMsPerBatch <= 2.5 && cpuMsPerSingle <= 0.7,
      }),
      row({
        scenario: '1d capacity of one instance',
        metric: 'pushes/s at one busy core (1 change / 100 changes)',
        service: `${fmt(1000 / cpuMsPerSingle)} / ${fmt(1000 / cpuMsPerBatch)}`,
        reference: '1,000 ms ÷ service CPU per push (1c)',
      }),
    ];
    return {
      rows,
      notes,
      figures: {
        clients: workers,
        batch,
        service: {
          ...brief(s),
          acknowledgedChanges: service.acknowledged,
          rowsFound: service.found,
          cpuSeconds: serviceCpu,
          cpuMsPerPush: cpuMsPerBatch,
          pushesPerCoreSecond: 1000 / cpuMsPerBatch,
          waits: service.waits,
        },
        ceilingValues: brief(values),
        ceilingRecordset: brief(recordset),
        ceiling: { variant: ceilingName, perSecond: ceiling.itemsPerSecond },
        goPattern: brief(go),
        serviceSqlRaw: { ...brief(serviceSql), pool: servicePoolSize() },
        ratioToCeiling: toCeiling,
        ratioToGo: toGo,
        single: {
          service: {
            ...brief(singles.result),
            acknowledged: singles.acknowledged,
            syncAvailableReceived: singles.notified,
            waits: singles.waits,
          },
          rawWithNotify: brief(rawNotify),
          rawWithoutNotify: brief(rawPlain),
          notifyCost,
          serviceToNotifyBound: singleToNotify,
          serviceToRaw: singleToRaw,
          pushesPerCoreSecond: 1000 / cpuMsPerSingle,
          serviceNotifyLockWaitShare: singleLock,
          serviceCores: singlesCores,
          cpuSeconds: singlesCpu,
          cpuMsPerPush: cpuMsPerSingle,
          verdict,
        },
      },
    };
  },
};
