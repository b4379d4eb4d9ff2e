/**
 * One client, no concurrency: the time of a 100-change push and of a
 * 1,000-row pull page, and what the membership and billing checks add to a
 * request once their answers are cached. Run:
 *   DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres npx ts-node --transpile-only bench/protocol-latency.ts
 */
import 'reflect-metadata';
import { FakeAuthServer } from '../test/support/fake-auth';
import { FakeCreditsServer } from '../test/support/fake-credits';
import { SyncClient } from '../test/support/sync-client';
import { startTestApp } from '../test/support/test-app';
import { adminQuery } from '../test/support/test-database';
import { summarize } from './lib/stats';

const RUNS = 60;

async function timed(fn: () => Promise<{ status: number }>): Promise<number> {
  const started = process.hrtime.bigint();
  const { status } = await fn();
  if (status !== 200) throw new Error(`status ${status}`);
  return Number(process.hrtime.bigint() - started) / 1e6;
}

const median = (values: number[]) => summarize(values).p50.toFixed(2);
const p99 = (values: number[]) => summarize(values).p99.toFixed(2);

async function main(): Promise<void> {
  const admin = process.env.DATABASE_URL;
  if (!admin) throw new Error('set DATABASE_URL');
  process.env.SYNC_TEST_ADMIN_URL = admin;
  const name = `sync_latency_${Date.now()}`;
  await adminQuery(`CREATE DATABASE ${name}`);
  const url = new URL(admin);
  url.pathname = `/${name}`;
  const auth = await new FakeAuthServer().start();
  const credits = await new FakeCreditsServer().start();
  auth.memberships.set('user-1', ['space-1']);
  const base = {
    DATABASE_URL: url.toString(),
    JWKS_URL: auth.jwksUrl,
    DB_MIGRATE_ON_START: 'true',
  };
  const plain = await startTestApp({
    ...base,
    MANA_AUTH_URL: 'http://127.0.0.1:9',
    RATE_LIMIT_PUSH_PER_MINUTE: '0',
    RATE_LIMIT_PULL_PER_MINUTE: '0',
  });
  try {
    const token = await auth.token('user-1');
    const writer = new SyncClient(plain.url, token, 'writer');
    const reader = new SyncClient(plain.url, token, 'reader');
    const batch = (run: number) =>
      Array.from({ length: 100 }, (_, i) => ({
        table: 'tasks',
        id: `r${run}-${i}`,
        op: 'insert',
        data: { title: `Task ${run}/${i}`, notes: 'x'.repeat(240), done: false, order: i },
      }));
    const pushes: number[] = [];
    for (let run = 0; run < RUNS; run++) pushes.push(await timed(() => writer.push(batch(run))));
    // 6,000 rows stored: six 1,000-row pages from the epoch.
    const pages: number[] = [];
    for (let run = 0; run < RUNS / 6; run++) {
      let since = '1970-01-01T00:00:00.000Z';
      for (let page = 0; page < 6; page++) {
        let next = since;
        pages.push(
          await timed(async () => {
            const response = await reader.pull('tasks', since);
            next = response.body.syncedUntil;
            return response;
          }),
        );
        since = next;
      }
    }
    console.log(
      `100-change push, one client: median ${median(pushes)} ms, p99 ${p99(pushes)} ms (${RUNS} pushes)`,
    );
    console.log(
      `1,000-row pull page, one client: median ${median(pages)} ms, p99 ${p99(pages)} ms (${pages.length} pages)`,
    );

    // Small pulls with and without the membership + billing checks (answers cached after the first).
    const small = async (appUrl: string) => {
      const client = new SyncClient(appUrl, token, 'probe', 'empty-app');
      const times: number[] = [];
      for (let i = 0; i < 50; i++) await client.pull('none');
      for (let i = 0; i < 500; i++) times.push(await timed(() => client.pull('none')));
      return times;
    };
    const withoutChecks = await small(plain.url);
    await plain.close();
    // One service at a time, so the two do not share the process's event loop.
    const gated = await startTestApp({
      ...base,
      MANA_AUTH_URL: auth.url,
      MANA_SERVICE_KEY: auth.serviceKey,
      MANA_CREDITS_URL: credits.url,
      RATE_LIMIT_PUSH_PER_MINUTE: '0',
      RATE_LIMIT_PULL_PER_MINUTE: '0',
    });
    const withChecks = await small(gated.url).finally(() => gated.close());
    console.log(
      `empty pull: median ${median(withoutChecks)} ms without, ${median(withChecks)} ms with cached membership + billing checks (500 each; lookups made: memberships ${auth.membershipRequests}, credits ${credits.requests})`,
    );
  } finally {
    await plain.close();
    await credits.stop();
    await auth.stop();
    await adminQuery(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
