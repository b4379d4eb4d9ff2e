/**
 * How long another user's push takes to reach their other device while a
 * large archive is imported (issue 13, "no long writes of our own"):
 *   npm run build && DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \
 *     npx ts-node --transpile-only bench/import-under-load.ts
 * BENCH_ROWS (default 200,000) sets the archive's size. User A's rows are
 * seeded, exported over HTTP and deleted; then A imports the archive while
 * user B's first device pushes one change every 200 ms and B's second device
 * pulls in a loop. The delay of a change is from the push's answer to the
 * first pull that returns it. The service runs as its own process (the built
 * dist/), as in `npm run bench`.
 */
import 'reflect-metadata';
import { createReadStream, createWriteStream } from 'fs';
import { mkdtemp, rm, stat } from 'fs/promises';
import { tmpdir } from 'os';
import { join } from 'path';
import { Readable } from 'stream';
import { FakeAuthServer } from '../test/support/fake-auth';
import { SyncClient } from '../test/support/sync-client';
import { createBenchDatabase } from './lib/database';
import { seed } from './lib/seed';
import { ROOT, ServiceProcess } from './lib/service';
import { HttpClient } from './lib/http';
import { fmt, nowMs, sleep, summarize } from './lib/stats';
import { APP_ID } from './lib/records';

const ROWS = Number(process.env.BENCH_ROWS ?? 200_000);
const USER_A = 'import-user-a';
const USER_B = 'import-user-b';
const PUSH_EVERY_MS = 200;
const TARGET_MS = 1_000;

interface Delays {
  delays: number[];
  /** Changes pushed but not yet seen when the window closed. */
  unseen: number;
}

/** B's phone pushes, B's laptop pulls, until `stop()`; the delay of each change. */
function watchB(baseUrl: string, token: string): { stop: () => Promise<Delays> } {
  const phone = new SyncClient(baseUrl, token, 'b-phone', APP_ID);
  const laptop = new SyncClient(baseUrl, token, 'b-laptop', APP_ID);
  const acked = new Map<string, number>();
  const delays: number[] = [];
  let running = true;
  let counter = 0;
  const pushing = (async () => {
    while (running) {
      const id = `b-${Date.now()}-${counter++}`;
      const response = await phone.push([
        { table: 'notes', id, op: 'insert', data: { text: 'from the phone' } },
      ]);
      if (response.status !== 200) throw new Error(`B's push → ${response.status}`);
      acked.set(id, nowMs());
      await sleep(PUSH_EVERY_MS);
    }
  })();
  const pulling = (async () => {
    let cursor = new Date().toISOString();
    while (running || acked.size > 0) {
      const response = await laptop.pull('notes', cursor);
      if (response.status !== 200) throw new Error(`B's pull → ${response.status}`);
      const seenAt = nowMs();
      for (const change of response.body.serverChanges as { id: string }[]) {
        const at = acked.get(change.id);
        if (at !== undefined) {
          delays.push(seenAt - at);
          acked.delete(change.id);
        }
      }
      cursor = response.body.syncedUntil;
      if (!running && acked.size > 0 && seenAt - Math.min(...acked.values()) > 120_000) break;
      if (!response.body.hasMore) await sleep(10);
    }
  })();
  return {
    async stop() {
      running = false;
      await pushing;
      await pulling;
      return { delays, unseen: acked.size };
    },
  };
}

function describe(label: string, { delays, unseen }: Delays): string {
  if (delays.length === 0) return `${label}: no change seen (${unseen} unseen)`;
  const s = summarize(delays);
  return `${label}: ${delays.length} changes, delay p50 ${fmt(s.p50)} ms, p99 ${fmt(s.p99)} ms, max ${fmt(s.max)} ms${unseen ? `, ${unseen} unseen` : ''}`;
}

async function main(): Promise<void> {
  const log = (line: string) => console.error(line);
  const db = await createBenchDatabase(log);
  const auth = await new FakeAuthServer().start();
  const dir = await mkdtemp(join(tmpdir(), 'sync-import-load-'));
  const file = join(dir, 'a.mana');
  let service: ServiceProcess | undefined;
  try {
    service = await ServiceProcess.start({
      env: {
        DATABASE_URL: db.url,
        JWKS_URL: auth.jwksUrl,
        MANA_AUTH_URL: auth.url,
        MANA_SERVICE_KEY: auth.serviceKey,
        RATE_LIMIT_PUSH_PER_MINUTE: '0',
        RATE_LIMIT_PULL_PER_MINUTE: '0',
      },
      logFile: join(ROOT, 'bench/results/import-under-load.log'),
    });
    log(`seeding ${fmt(ROWS)} rows of ${USER_A}`);
    await seed(db.url, {
      count: ROWS,
      userSql: `'${USER_A}'`,
      tableSql: `(ARRAY['todos','notes','events'])[1 + i % 3]`,
      prefix: 'import',
    });
    const tokenA = await auth.token(USER_A);
    const tokenB = await auth.token(USER_B);
    const http = new HttpClient(service.url, 1);
    const out = createWriteStream(file);
    const exported = await http.stream('/backup/export', tokenA, (chunk) => out.write(chunk));
    await new Promise<void>((resolve) => out.end(resolve));
    await http.close();
    if (exported.status !== 200) throw new Error(`export → ${exported.status}`);
    log(`archive: ${fmt((await stat(file)).size / 1024 / 1024, 1)} MB; deleting A's rows`);
    const { Client } = await import('pg');
    const admin = new Client({ connectionString: db.url });
    await admin.connect();
    await admin.query(`DELETE FROM sync_changes WHERE user_id = $1`, [USER_A]);
    await admin.query('VACUUM (ANALYZE) sync_changes');
    await admin.end();

    const baselineWatch = watchB(service.url, tokenB);
    await sleep(3_000);
    const baseline = await baselineWatch.stop();

    const duringWatch = watchB(service.url, tokenB);
    await sleep(500);
    const begin = nowMs();
    const response = await fetch(`${service.url}/backup/import`, {
      method: 'POST',
      headers: { authorization: `Bearer ${tokenA}`, 'content-type': 'application/zip' },
      body: Readable.toWeb(createReadStream(file)) as ReadableStream,
      duplex: 'half',
    } as RequestInit);
    const answer = await response.text();
    const importSeconds = (nowMs() - begin) / 1000;
    const during = await duringWatch.stop();
    if (response.status !== 200) throw new Error(`import → ${response.status}: ${answer}`);

    console.log(`import of ${fmt(ROWS)} rows: ${fmt(importSeconds, 1)} s, answer ${answer}`);
    console.log(describe("B's changes before the import", baseline));
    console.log(describe("B's changes while A imports", during));
    const worst = Math.max(...during.delays, during.unseen ? Infinity : 0);
    console.log(
      worst <= TARGET_MS
        ? `OK: every change of B arrived within ${TARGET_MS} ms`
        : `MISSED: the slowest change of B took ${fmt(worst)} ms (target ${TARGET_MS} ms)`,
    );
  } finally {
    await service?.stop();
    await auth.stop();
    await db.drop();
    await rm(dir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
