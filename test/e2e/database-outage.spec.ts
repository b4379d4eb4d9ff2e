import { EmbeddedPostgresHandle, startEmbeddedPostgres } from '../../src/store/embedded-postgres';
import { FakeAuthServer } from '../support/fake-auth';
import { SyncClient } from '../support/sync-client';
import { startTestApp, TestApp } from '../support/test-app';

/**
 * A real outage: the service runs on a PostgreSQL of this test's own (the
 * embedded one), which the test stops and starts again.
 */
const PG = { dir: '.data/test-outage-postgres', port: 54333, database: 'outage' };
const CONNECT_TIMEOUT_MS = 1_000;

describe('database outage', () => {
  let pg: EmbeddedPostgresHandle;
  let auth: FakeAuthServer;
  let service: TestApp;
  let client: SyncClient;

  beforeAll(async () => {
    pg = await startEmbeddedPostgres(PG);
    auth = await new FakeAuthServer().start();
    service = await startTestApp({
      DATABASE_URL: pg.url,
      DB_MIGRATE_ON_START: 'true',
      JWKS_URL: auth.jwksUrl,
      DB_CONNECT_TIMEOUT_MS: String(CONNECT_TIMEOUT_MS),
    });
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
});
