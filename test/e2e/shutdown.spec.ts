import { FakeAuthServer } from '../support/fake-auth';
import { spawnService, ServiceProcess } from '../support/service-process';
import { createTestDatabase, TestDatabase } from '../support/test-database';

const SHUTDOWN_TIMEOUT_MS = 5_000;
const CHANGES_PER_PUSH = 50;

describe('graceful shutdown', () => {
  let db: TestDatabase;
  let auth: FakeAuthServer;
  let service: ServiceProcess;

  beforeAll(async () => {
    db = await createTestDatabase();
    auth = await new FakeAuthServer().start();
  });

  afterAll(async () => {
    if (service?.child.exitCode === null) service.child.kill('SIGKILL');
    await auth.stop();
    await db.drop();
  });

  it('on SIGTERM under a stream of pushes: every 200 is durable, nothing is half-stored, exit 0 in time', async () => {
    service = await spawnService({
      DATABASE_URL: db.url,
      JWKS_URL: auth.jwksUrl,
      SHUTDOWN_TIMEOUT_MS: String(SHUTDOWN_TIMEOUT_MS),
      DB_MIGRATE_ON_START: 'false',
    });
    await service.ready();
    const token = await auth.token('user-1');
    const outcomes = new Map<string, number | 'error'>();
    let sending = true;
    let sent = 0;

    const pushLoop = async (worker: number) => {
      for (let n = 0; sending; n++) {
        const pushId = `w${worker}-p${n}`;
        const changes = Array.from({ length: CHANGES_PER_PUSH }, (_, i) => ({
          table: 'tasks',
          id: `${pushId}-c${i}`,
          op: 'insert',
          data: { i, filler: 'x'.repeat(200) },
        }));
        sent++;
        try {
          const response = await fetch(`${service.url}/sync/todo`, {
            method: 'POST',
            headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
            body: JSON.stringify({ clientId: `client-${worker}`, changes }),
          });
          outcomes.set(pushId, response.status);
          await response.arrayBuffer();
        } catch {
          outcomes.set(pushId, 'error');
          return;
        }
      }
    };
    const workers = Array.from({ length: 8 }, (_, w) => pushLoop(w));
    while (sent < 40) await new Promise((r) => setTimeout(r, 10));

    const signalledAt = Date.now();
    service.child.kill('SIGTERM');
    const exit = await service.exited;
    const shutdownMs = Date.now() - signalledAt;
    sending = false;
    await Promise.all(workers);

    expect(exit).toEqual({ code: 0, signal: null });
    expect(shutdownMs).toBeLessThan(SHUTDOWN_TIMEOUT_MS + 2_000);
    console.log(`shutdown under load took ${shutdownMs} ms; ${outcomes.size} pushes observed`);

    const { rows } = await db.pool.query<{ push: string; n: number }>(
      `SELECT split_part(record_id, '-c', 1) AS push, count(*)::int AS n FROM sync_changes GROUP BY 1`,
    );
    const stored = new Map(rows.map((r) => [r.push, r.n]));
    for (const [push, n] of stored) expect([push, n]).toEqual([push, CHANGES_PER_PUSH]);
    const acknowledged = [...outcomes].filter(([, status]) => status === 200).map(([push]) => push);
    expect(acknowledged.length).toBeGreaterThan(0);
    for (const push of acknowledged)
      expect([push, stored.get(push)]).toEqual([push, CHANGES_PER_PUSH]);
    expect([...outcomes.values()].every((s) => s === 200 || s === 'error' || s === 503)).toBe(true);
  });
});
