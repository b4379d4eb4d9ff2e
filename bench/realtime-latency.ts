/**
 * Realtime figures for issue 4, on a fresh database:
 * 1. push → `sync-available` latency across instances: two service instances
 *    (child processes, as in production), pushes on instance 1, a WebSocket on
 *    instance 2; median and p99 over PUSHES pushes;
 * 2. idle authenticated sockets held by one instance, with its RSS and heap;
 * 3. one push into a space fanned out to all those sockets (all members).
 *
 *   npx ts-node --transpile-only bench/realtime-latency.ts
 *
 * Env: DATABASE_URL (an admin URL; default postgres://postgres@127.0.0.1:5432/postgres),
 * PUSHES (default 300), SOCKETS (default 2000).
 */
import 'reflect-metadata';
import { ChildProcess, fork } from 'child_process';
import { randomBytes } from 'crypto';
import { AddressInfo } from 'net';
import { performance } from 'perf_hooks';
import { Client } from 'pg';
import WebSocket from 'ws';
import { createApp } from '../src/bootstrap';
import { loadConfig } from '../src/config/app-config';
import { FakeAuthServer } from '../test/support/fake-auth';
import { SyncClient } from '../test/support/sync-client';

const ADMIN_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const PUSHES = Number(process.env.PUSHES ?? 300);
const SOCKETS = Number(process.env.SOCKETS ?? 2000);
const WARMUP = 20;

type ToChild = { type: 'memory' } | { type: 'stop' };
type FromChild =
  | { type: 'ready'; port: number }
  | { type: 'memory'; usage: NodeJS.MemoryUsage }
  | { type: 'error'; message: string };

if (process.argv[2] === 'serve') {
  void serve();
} else {
  main().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}

/** A child process: one service instance, exactly as createApp builds it. */
async function serve(): Promise<void> {
  try {
    const app = await createApp(loadConfig(JSON.parse(process.env.BENCH_ENV!)), {
      logger: ['error', 'warn'],
    });
    await app.listen(0, '127.0.0.1');
    const { port } = app.getHttpServer().address() as AddressInfo;
    process.on('message', async (message: ToChild) => {
      if (message.type === 'memory') {
        for (let i = 0; i < 3; i++) global.gc?.();
        process.send!({ type: 'memory', usage: process.memoryUsage() } satisfies FromChild);
      } else if (message.type === 'stop') {
        await app.close();
        process.exit(0);
      }
    });
    process.send!({ type: 'ready', port } satisfies FromChild);
  } catch (error) {
    process.send!({ type: 'error', message: String(error) } satisfies FromChild);
    process.exit(1);
  }
}

class Instance {
  private constructor(
    readonly child: ChildProcess,
    readonly url: string,
  ) {}

  static start(env: Record<string, string>): Promise<Instance> {
    const child = fork(__filename, ['serve'], {
      execArgv: ['-r', 'ts-node/register/transpile-only', '--expose-gc'],
      env: { ...process.env, BENCH_ENV: JSON.stringify(env), TS_NODE_TRANSPILE_ONLY: 'true' },
    });
    return new Promise((resolve, reject) => {
      child.once('message', (message: FromChild) => {
        if (message.type === 'ready')
          resolve(new Instance(child, `http://127.0.0.1:${message.port}`));
        else reject(new Error(message.type === 'error' ? message.message : 'unexpected message'));
      });
      child.once('exit', (code) => reject(new Error(`instance exited with ${code}`)));
    });
  }

  memory(): Promise<NodeJS.MemoryUsage> {
    return new Promise((resolve) => {
      this.child.once('message', (message: FromChild) => {
        if (message.type === 'memory') resolve(message.usage);
      });
      this.child.send({ type: 'memory' } satisfies ToChild);
    });
  }

  stop(): Promise<void> {
    return new Promise((resolve) => {
      this.child.once('exit', () => resolve());
      this.child.send({ type: 'stop' } satisfies ToChild);
    });
  }
}

/** A socket that authenticates and timestamps every `sync-available` it gets. */
class Listener {
  readonly notes: number[] = [];
  private wake?: () => void;

  private constructor(readonly socket: WebSocket) {
    socket.on('message', (data) => {
      const message = JSON.parse(data.toString());
      if (message.type === 'sync-available') {
        this.notes.push(performance.now());
        this.wake?.();
      }
    });
  }

  static open(url: string, token: string): Promise<Listener> {
    const socket = new WebSocket(`${url.replace(/^http/, 'ws')}/ws`);
    const listener = new Listener(socket);
    return new Promise((resolve, reject) => {
      socket.once('error', reject);
      socket.once('open', () => socket.send(JSON.stringify({ type: 'auth', token })));
      socket.once('message', (data) => {
        const message = JSON.parse(data.toString());
        if (message.type === 'auth-ok') resolve(listener);
        else reject(new Error(`auth failed: ${data}`));
      });
    });
  }

  /** Resolves with the arrival time of the `count`-th notification. */
  async nth(count: number, timeoutMs = 5000): Promise<number> {
    const deadline = performance.now() + timeoutMs;
    while (this.notes.length < count) {
      if (performance.now() > deadline) throw new Error(`no notification #${count}`);
      await new Promise<void>((resolve) => {
        this.wake = resolve;
        setTimeout(resolve, 50);
      });
    }
    return this.notes[count - 1];
  }
}

async function admin(sql: string): Promise<void> {
  const client = new Client({ connectionString: ADMIN_URL });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

function summary(values: number[]): string {
  const sorted = [...values].sort((a, b) => a - b);
  const f = (v: number) => `${v.toFixed(2)} ms`;
  return `median ${f(percentile(sorted, 50))}, p99 ${f(percentile(sorted, 99))}, max ${f(sorted[sorted.length - 1])}`;
}

const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;

async function main(): Promise<void> {
  const database = `sync_bench_${randomBytes(4).toString('hex')}`;
  const url = new URL(ADMIN_URL);
  url.pathname = `/${database}`;
  await admin(`CREATE DATABASE ${database}`);
  const auth = await new FakeAuthServer().start();
  const instances: Instance[] = [];
  try {
    const env = {
      DATABASE_URL: url.toString(),
      JWKS_URL: auth.jwksUrl,
      MANA_AUTH_URL: auth.url,
      MANA_SERVICE_KEY: auth.serviceKey,
    };
    // The first runs the migrations; the second starts on the migrated database.
    instances.push(await Instance.start({ ...env, DB_MIGRATE_ON_START: 'true' }));
    instances.push(await Instance.start({ ...env, DB_MIGRATE_ON_START: 'false' }));
    const [one, two] = instances;

    // 1. Latency across instances. (Memberships are cached: set the space for part 3 now.)
    auth.memberships.set('bench-user', ['bench-space']);
    const token = await auth.token('bench-user');
    const listener = await Listener.open(two.url, token);
    const pusher = new SyncClient(one.url, token, 'bench-pusher');
    const fromResponse: number[] = [];
    const signed: number[] = [];
    const fromRequest: number[] = [];
    let early = 0;
    for (let i = 0; i < WARMUP + PUSHES; i++) {
      const requested = performance.now();
      const { status } = await pusher.push([
        { table: 'tasks', id: `task-${i}`, op: 'insert', data: { title: `task ${i}` } },
      ]);
      const responded = performance.now();
      if (status !== 200) throw new Error(`push ${i} failed: ${status}`);
      const notified = await listener.nth(i + 1);
      if (i < WARMUP) continue;
      if (notified < responded) early++;
      fromResponse.push(Math.max(0, notified - responded));
      signed.push(notified - responded);
      fromRequest.push(notified - requested);
    }
    listener.socket.close();
    console.log(`\nLatency, push on instance 1 → sync-available on instance 2 (${PUSHES} pushes):`);
    console.log(`  from push response: ${summary(fromResponse)}`);
    console.log(
      `    (${early} of ${PUSHES} notifications arrived before the push response; counted as 0)`,
    );
    console.log(`  notification minus response, signed: ${summary(signed)}`);
    console.log(`  from push request:  ${summary(fromRequest)}`);

    // 2. Idle authenticated sockets on instance 2.
    for (let i = 0; i < SOCKETS; i++) auth.memberships.set(`idle-${i}`, ['bench-space']);
    const baseline = await two.memory();
    const opened = performance.now();
    const sockets: Listener[] = [];
    for (let i = 0; i < SOCKETS; i += 100) {
      const batch = Array.from({ length: Math.min(100, SOCKETS - i) }, async (_, j) =>
        Listener.open(two.url, await auth.token(`idle-${i + j}`)),
      );
      sockets.push(...(await Promise.all(batch)));
    }
    const openMs = performance.now() - opened;
    const health = (await new SyncClient(two.url, undefined, 'bench').request('GET', '/health'))
      .body;
    const loaded = await two.memory();
    console.log(`\nIdle authenticated sockets on one instance:`);
    console.log(`  opened and authenticated ${sockets.length} sockets in ${openMs.toFixed(0)} ms`);
    console.log(`  /health connections: ${JSON.stringify(health.connections)}`);
    console.log(
      `  RSS ${mb(baseline.rss)} → ${mb(loaded.rss)} (+${mb(loaded.rss - baseline.rss)}), ` +
        `heap used ${mb(baseline.heapUsed)} → ${mb(loaded.heapUsed)} (+${mb(loaded.heapUsed - baseline.heapUsed)})`,
    );
    console.log(
      `  per socket: ${((loaded.rss - baseline.rss) / SOCKETS / 1024).toFixed(1)} KB RSS, ` +
        `${((loaded.heapUsed - baseline.heapUsed) / SOCKETS / 1024).toFixed(1)} KB heap`,
    );

    // 3. One push into a space whose members hold all those sockets.
    const member = new SyncClient(one.url, await auth.token('bench-user'), 'bench-pusher');
    const pushed = performance.now();
    const { status } = await member.push([
      {
        table: 'tasks',
        id: 'shared',
        op: 'insert',
        spaceId: 'bench-space',
        data: { title: 'all' },
      },
    ]);
    const responded = performance.now();
    if (status !== 200) throw new Error(`space push failed: ${status}`);
    const arrivals = await Promise.all(sockets.map((s) => s.nth(1, 10_000)));
    console.log(
      `\nFan-out of one space push (instance 1) to ${SOCKETS} member sockets (instance 2):`,
    );
    console.log(
      `  last notification ${(Math.max(...arrivals) - responded).toFixed(1)} ms after the push response ` +
        `(${(Math.max(...arrivals) - pushed).toFixed(1)} ms after the request)`,
    );
    for (const socket of sockets) socket.socket.terminate();
  } finally {
    for (const instance of instances) await instance.stop().catch(() => undefined);
    await auth.stop();
    await admin(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
  }
}
