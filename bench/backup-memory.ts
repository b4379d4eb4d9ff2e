/**
 * Backup throughput and memory for 200,000 changes of one user:
 *   npx ts-node --transpile-only bench/backup-memory.ts
 * Uses DATABASE_URL's server (default postgres://postgres@127.0.0.1:5432/postgres)
 * to create a throw-away database, seeds it as the superuser, then runs the
 * service's backup services (export to a file, wipe, import from it) and samples
 * process.memoryUsage() every 10 ms. Fails (exit 1) when the export's heap
 * growth reaches 64 MB, the bound of issue 6.
 */
import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { randomBytes } from 'crypto';
import { mkdtemp, rm, stat } from 'fs/promises';
import { createWriteStream } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { Client } from 'pg';
import { setFlagsFromString } from 'v8';
import { runInNewContext } from 'vm';
import { AppModule } from '../src/app.module';
import { BackupExportService } from '../src/backup/backup-export.service';
import { BackupImportService } from '../src/backup/backup-import.service';
import { loadConfig } from '../src/config/app-config';

const ROWS = Number(process.env.BENCH_ROWS ?? 200_000);
const USER = 'bench-user';
const HEAP_LIMIT_MB = 64;
const MB = 1024 * 1024;

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

function settle(): number {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

/** Peak RSS and heap while `work` runs, sampled every 10 ms. */
async function measure<T>(work: () => Promise<T>) {
  const baseHeap = settle();
  let peakHeap = baseHeap;
  let peakRss = process.memoryUsage().rss;
  const sample = setInterval(() => {
    const { heapUsed, rss } = process.memoryUsage();
    peakHeap = Math.max(peakHeap, heapUsed);
    peakRss = Math.max(peakRss, rss);
  }, 10);
  const started = process.hrtime.bigint();
  const cpuBefore = process.cpuUsage();
  const result = await work();
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const cpu = process.cpuUsage(cpuBefore);
  clearInterval(sample);
  const { heapUsed, rss } = process.memoryUsage();
  peakHeap = Math.max(peakHeap, heapUsed);
  peakRss = Math.max(peakRss, rss);
  return {
    result,
    seconds,
    /** This process's CPU time (the database's is not in it): robust to a busy machine. */
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
    heapGrowthPeakMb: (peakHeap - baseHeap) / MB,
    heapRetainedMb: (settle() - baseHeap) / MB,
    peakRssMb: peakRss / MB,
  };
}

async function admin(url: string, sql: string): Promise<void> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

async function main(): Promise<void> {
  const adminUrl = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
  const database = `sync_bench_${randomBytes(4).toString('hex')}`;
  const url = new URL(adminUrl);
  url.pathname = `/${database}`;
  const dir = await mkdtemp(join(tmpdir(), 'backup-bench-'));
  const file = join(dir, 'bench.mana');
  await admin(adminUrl, `CREATE DATABASE ${database}`);
  const seeder = new Client({ connectionString: url.toString() });
  let context: Awaited<ReturnType<typeof NestFactory.createApplicationContext>> | undefined;
  try {
    // The app context runs the migrations on start.
    const config = loadConfig({ ...process.env, DATABASE_URL: url.toString() });
    context = await NestFactory.createApplicationContext(AppModule.forRoot(config), {
      logger: ['error'],
    });
    await context.init();

    await seeder.connect();
    const seedStart = Date.now();
    // Realistic rows: every op, field times, an actor on some, a personal space on some.
    await seeder.query(
      `INSERT INTO sync_changes
         (app_id, table_name, record_id, user_id, op, data, field_meta, client_id, actor, origin, space_id)
       SELECT CASE WHEN g % 3 = 0 THEN 'notes' ELSE 'todo' END,
              CASE WHEN g % 2 = 0 THEN 'tasks' ELSE 'lists' END,
              'rec-' || (g / 3),
              $1,
              (ARRAY['insert', 'update', 'delete'])[1 + g % 3],
              jsonb_build_object('title', 'Task number ' || g, 'done', g % 2 = 0,
                                 'note', md5(g::text), 'priority', g % 5),
              CASE WHEN g % 3 = 1
                   THEN jsonb_build_object('title', '2026-11-27T10:00:00.000Z', 'done', '2026-11-27T10:00:01.000Z')
                   ELSE '{}'::jsonb END,
              'client-' || (g % 4),
              CASE WHEN g % 7 = 0 THEN '{"kind":"ai","agent":{"id":"agent-1"}}'::jsonb END,
              CASE WHEN g % 7 = 0 THEN 'agent' END,
              CASE WHEN g % 5 = 0 THEN '_personal:' || $1 END
         FROM generate_series(1, $2::int) g`,
      [USER, ROWS],
    );
    console.log(`seeded ${ROWS} rows in ${((Date.now() - seedStart) / 1000).toFixed(1)} s`);

    const exporter = context.get(BackupExportService);
    const importer = context.get(BackupImportService);
    const exported = await measure(() =>
      exporter.exportArchive({ userId: USER, spaceIds: [] }, createWriteStream(file)),
    );
    const archiveMb = (await stat(file)).size / MB;

    await seeder.query('DELETE FROM sync_changes');
    const imported = await measure(() =>
      importer.importFile({ userId: USER, spaceIds: [], membershipsAvailable: true }, file),
    );
    if (imported.result.inserted !== ROWS) {
      throw new Error(`import inserted ${imported.result.inserted} of ${ROWS} rows`);
    }

    const row = (name: string, m: Omit<typeof exported, 'result'>) => ({
      phase: name,
      'rows/s': Math.round(ROWS / m.seconds),
      seconds: Number(m.seconds.toFixed(2)),
      'node CPU s': Number(m.cpuSeconds.toFixed(2)),
      'heap growth peak (MB)': Number(m.heapGrowthPeakMb.toFixed(1)),
      'heap retained (MB)': Number(m.heapRetainedMb.toFixed(1)),
      'peak RSS (MB)': Number(m.peakRssMb.toFixed(0)),
    });
    console.log(
      `${ROWS} rows, archive ${archiveMb.toFixed(1)} MB (${exported.result.eventsSha256})`,
    );
    console.table([row('export', exported), row('import', imported)]);
    console.log(
      `process peak RSS (maxRSS): ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB`,
    );
    if (exported.heapGrowthPeakMb >= HEAP_LIMIT_MB) {
      console.error(
        `FAIL: export heap growth ${exported.heapGrowthPeakMb.toFixed(1)} MB >= ${HEAP_LIMIT_MB} MB`,
      );
      process.exitCode = 1;
    } else {
      console.log(`OK: export heap growth stays under ${HEAP_LIMIT_MB} MB`);
    }
  } finally {
    await seeder.end().catch(() => undefined);
    await context?.close();
    await admin(adminUrl, `DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
    await rm(dir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
