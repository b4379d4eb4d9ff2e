import { EmbeddedPostgresHandle, startEmbeddedPostgres } from '../../src/store/embedded-postgres';
import { FakeAuthServer } from '../support/fake-auth';
import { LogSink } from '../support/log-sink';
import { metricSum, parseMetrics } from '../support/prometheus-text';
import { SyncClient } from '../support/sync-client';
import { freePort } from '../support/service-process';
import { startTestApp, TestApp } from '../support/test-app';

/**
 * A real outage: the service runs on a PostgreSQL of this test's own (the
 * embedded one), which the test stops and starts again.
 */
const PG = { dir: '.data/test-outage-postgres', port: 0, database: 'outage' };
const CONNECT_TIMEOUT_MS = 1_000;

describe('database outage', () => {
  let pg: EmbeddedPostgresHandle;
  let auth: FakeAuthServer;
  let service: TestApp;
  let client: SyncClient;
  const logs = new LogSink();

  beforeAll(async () => {
    // Chosen once: the service must find its database on the same port after each restart.
    PG.port = await freePort();
    pg = await startEmbeddedPostgres(PG);
    auth = await new FakeAuthServer().start();
    service = await startTestApp(
      {
        DATABASE_URL: pg.url,
        DB_MIGRATE_ON_START: 'true',
        JWKS_URL: auth.jwksUrl,
        DB_CONNECT_TIMEOUT_MS: String(CONNECT_TIMEOUT_MS),
      },
      { logger: ['log', 'warn', 'error'], logDestination: logs },
    );
    client = new SyncClient(service.url, await auth.token(`user-${Date.now()}`), 'client-a');
  }, 120_000);

  afterAll(async () => {
    await service?.close();
    await auth?.stop();
    await pg?.stop();
  });

  it('answers 503 quickly while PostgreSQL is down and recovers by itself when it is back', async () => {
    let n = 0;
    const push = () => client.push([{ table: 'tasks', id: `t${n++}`, op: 'insert', data: {} }]);
    expect((await push()).status).toBe(200);

    await pg.stop();
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) {
      const started = Date.now();
      const response = i % 2 ? await client.pull('tasks') : await push();
      expect(Date.now() - started).toBeLessThan(CONNECT_TIMEOUT_MS + 1_000);
      statuses.push(response.status);
      expect(response.body).toEqual({
        statusCode: 503,
        error: 'Service Unavailable',
        message: expect.any(String),
      });
      expect(response.headers.get('retry-after')).toMatch(/^\d+$/);
    }
    expect(statuses).toEqual([503, 503, 503, 503, 503]);
    // Alive, but not ready.
    expect((await fetch(`${service.url}/health`)).status).toBe(200);
    const notReady = await fetch(`${service.url}/health/ready`);
    expect(notReady.status).toBe(503);
    const readiness = (await notReady.json()) as { details: { database: { status: string } } };
    expect(readiness.details.database.status).toBe('down');

    pg = await startEmbeddedPostgres(PG);
    const backAt = Date.now();
    let recoveredAfter = -1;
    while (Date.now() - backAt < 10_000) {
      const response = await push();
      expect([200, 503]).toContain(response.status);
      if (response.status === 200) {
        recoveredAfter = Date.now() - backAt;
        break;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    console.log(`recovered ${recoveredAfter} ms after PostgreSQL accepted connections again`);
    expect(recoveredAfter).toBeGreaterThanOrEqual(0);

    // Ready again, listener included, and notifications flow: another client's stream hears a push.
    let ready = 0;
    while (Date.now() - backAt < 10_000) {
      ready = (await fetch(`${service.url}/health/ready`)).status;
      if (ready === 200) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    console.log(`ready again ${Date.now() - backAt} ms after PostgreSQL came back`);
    expect(ready).toBe(200);
    const other = new SyncClient(service.url, client.token, 'client-b');
    const stream = await other.stream(['tasks']);
    try {
      await stream.waitFor((events) => events.some((e) => e.event === 'changes'));
      expect((await push()).status).toBe(200);
      await stream.waitFor(
        (events) => events.filter((e) => e.event === 'changes').length >= 2,
        5_000,
      );
    } finally {
      stream.close();
    }
  });

  it('reads as one warning when it starts and one line when it ends; its 503s are counted in /metrics', async () => {
    const metric = async (labels: Record<string, string>) =>
      metricSum(
        parseMetrics(await (await fetch(`${service.url}/metrics`)).text()),
        'sync_http_requests_total',
        labels,
      );
    const ready503 = { route: '/health/ready', status: '503' };
    const push503 = { route: '/sync/:appId', status: '503' };
    const [readyBefore, pushBefore] = [await metric(ready503), await metric(push503)];
    const from = logs.lines.length;

    await pg.stop();
    let notReady = 0;
    for (let i = 0; i < 8; i++) {
      const response = await fetch(`${service.url}/health/ready`);
      expect(response.status).toBe(503);
      expect(response.headers.get('retry-after')).toMatch(/^\d+$/);
      notReady++;
      await new Promise((r) => setTimeout(r, 250));
    }
    for (let i = 0; i < 2; i++) expect((await client.pull('tasks')).status).toBe(503);
    expect((await client.push([])).status).toBe(503);

    pg = await startEmbeddedPostgres(PG);
    const backAt = Date.now();
    for (;;) {
      const status = (await fetch(`${service.url}/health/ready`)).status;
      if (status === 200) break;
      expect(status).toBe(503);
      notReady++;
      expect(Date.now() - backAt).toBeLessThan(15_000);
      await new Promise((r) => setTimeout(r, 100));
    }

    expect(await metric(ready503)).toBe(readyBefore + notReady);
    expect(await metric(push503)).toBe(pushBefore + 1);

    const records = logs.records().slice(from);
    const text = records.map((r) => JSON.stringify(r)).join('\n');
    // No stack trace, nothing at error level.
    expect(text).not.toMatch(/\\n\s+at /);
    expect(records.filter((r) => r.level === 'error' || r.level === 'fatal')).toEqual([]);
    // Requests of clients keep their own request lines; everything else is the outage itself.
    const requestLine = (r: Record<string, any>) =>
      typeof r.requestId === 'string' && 'status' in r;
    expect(records.filter((r) => requestLine(r) && r.route === '/health/ready')).toEqual([]);
    const warnings = records.filter((r) => r.level === 'warn' && !requestLine(r));
    expect(warnings).toEqual([
      expect.objectContaining({
        context: 'Readiness',
        msg: expect.stringMatching(/^Not ready: database \(/),
      }),
    ]);
    const ended = records.filter((r) => r.context === 'Readiness' && r.level === 'info');
    expect(ended).toEqual([
      expect.objectContaining({
        msg: expect.stringMatching(
          new RegExp(
            `^Ready again after \\d+\\.\\d s not ready \\(${notReady} readiness check\\(s\\) answered 503\\)$`,
          ),
        ),
      }),
    ]);
    console.log(
      `outage log:\n${records
        .filter((r) => !requestLine(r))
        .map((r) => `${r.level} ${r.context}: ${r.msg}`)
        .join('\n')}`,
    );
  });
});
