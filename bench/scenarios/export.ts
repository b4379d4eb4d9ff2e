import { createWriteStream } from 'fs';
import { mkdtemp, rm } from 'fs/promises';
import { tmpdir } from 'os';
import { join } from 'path';
import * as yauzl from 'yauzl';
import { row, Scenario, ScenarioResult } from '../lib/context';
import { HttpClient } from '../lib/http';
import { connect, userTransaction } from '../lib/raw';
import { streamAllForUser } from '../lib/repository';
import { fmt, fmtRatio, mb, nowMs } from '../lib/stats';

const TARGET_RATE = 50_000;
const TARGET_PEAK = 200 * 1024 * 1024;

/** manifest.json of an export archive on disk (read with yauzl, not the library that wrote it). */
async function manifestOf(path: string): Promise<{ eventCount?: number } | undefined> {
  const zip = await new Promise<yauzl.ZipFile>((resolve, reject) =>
    yauzl.open(path, { lazyEntries: true }, (error, file) =>
      error ? reject(error) : resolve(file),
    ),
  );
  try {
    return await new Promise((resolve, reject) => {
      zip.on('entry', (entry: yauzl.Entry) => {
        if (entry.fileName !== 'manifest.json') return zip.readEntry();
        zip.openReadStream(entry, async (error, stream) => {
          if (error) return reject(error);
          const chunks: Buffer[] = [];
          for await (const chunk of stream) chunks.push(chunk as Buffer);
          resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')));
        });
      });
      zip.on('end', () => resolve(undefined));
      zip.on('error', reject);
      zip.readEntry();
    });
  } finally {
    zip.close();
  }
}

/** GET /backup/export of one user's whole log; rows/s and the service's peak RSS meanwhile. */
export const exportScenario: Scenario = {
  id: 'export',
  title: 'Export (6)',
  freshService: true,
  budgetMs: (s) => 60_000 + s.export.rows / 5,
  async run(ctx): Promise<ScenarioResult> {
    const { exportUser: userId, exportRows: expected } = ctx.seeded;
    const token = await ctx.token(userId);
    const notes: string[] = [];
    const dir = await mkdtemp(join(tmpdir(), 'sync-bench-export-'));
    const file = join(dir, 'export.zip');
    const http = new HttpClient(ctx.service.url, 1);
    const rssBefore = ctx.service.rssBytes();
    const hwmReset = ctx.service.resetPeakRss();
    const sampler = ctx.service.sampleRss(25);
    ctx.log(`export: ${fmt(expected)} rows via GET /backup/export`);
    let seconds: number;
    let bytes: number;
    let manifest: { eventCount?: number } | undefined;
    let peak: number;
    try {
      const out = createWriteStream(file);
      const begin = nowMs();
      const result = await http.stream('/backup/export', token, (chunk) => out.write(chunk));
      seconds = (nowMs() - begin) / 1000;
      await new Promise<void>((resolve, reject) =>
        out.end((error?: Error | null) => (error ? reject(error) : resolve())),
      );
      const sampled = sampler.stop();
      peak = Math.max(sampled.peakBytes, hwmReset ? ctx.service.peakRssBytes() : 0);
      if (result.status !== 200) throw new Error(`export → ${result.status}`);
      bytes = result.bytes;
      manifest = await manifestOf(file);
    } finally {
      sampler.stop();
      await http.close();
      await rm(dir, { recursive: true, force: true });
    }
    if (manifest?.eventCount !== expected) {
      notes.push(
        `export: the manifest counts ${manifest?.eventCount ?? 'no'} events, expected ${expected}`,
      );
    }
    const rate = expected / seconds;

    ctx.log("export: the same rows streamed raw over pg (the repository's cursor query)");
    const client = await connect(ctx.db.url);
    let rawRows = 0;
    let rawSeconds: number;
    try {
      const begin = nowMs();
      await userTransaction(client, ctx.rlsRole, userId, async () => {
        const stream = streamAllForUser(client, userId);
        for await (const _row of stream) rawRows++;
      });
      rawSeconds = (nowMs() - begin) / 1000;
    } finally {
      await client.end();
    }
    const rawRate = rawRows / rawSeconds;
    return {
      rows: [
        row({
          scenario: `6 export, ${fmt(expected)} rows`,
          metric: 'rows/s',
          service: fmt(rate),
          reference: `raw pg cursor ${fmt(rawRate)}`,
          ratio: fmtRatio(rate / rawRate),
          target: '≥ 50,000/s',
          met: rate >= TARGET_RATE,
        }),
        row({
          scenario: '',
          metric: 'peak RSS',
          service: mb(peak),
          reference: `before ${mb(rssBefore)}`,
          target: '≤ 200 MB',
          met: peak <= TARGET_PEAK,
        }),
      ],
      notes,
      figures: {
        rows: expected,
        seconds,
        rowsPerSecond: rate,
        archiveBytes: bytes,
        manifestEventCount: manifest?.eventCount,
        rssBeforeBytes: rssBefore,
        peakRssBytes: peak,
        peakFromVmHWM: hwmReset,
        raw: { rows: rawRows, seconds: rawSeconds, rowsPerSecond: rawRate },
      },
    };
  },
};
