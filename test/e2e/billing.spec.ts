import { FakeAuthServer } from '../support/fake-auth';
import { FakeCreditsServer } from '../support/fake-credits';
import { SyncClient } from '../support/sync-client';
import { startTestApp, TestApp } from '../support/test-app';
import { createTestDatabase, TestDatabase } from '../support/test-database';

describe('billing gate', () => {
  let db: TestDatabase;
  let auth: FakeAuthServer;
  let credits: FakeCreditsServer;
  let service: TestApp;

  beforeAll(async () => {
    db = await createTestDatabase();
    auth = await new FakeAuthServer().start();
    credits = await new FakeCreditsServer().start();
    credits.inactiveUsers.add('lapsed');
    service = await startTestApp({
      DATABASE_URL: db.url,
      JWKS_URL: auth.jwksUrl,
      MANA_AUTH_URL: auth.url,
      MANA_CREDITS_URL: credits.url,
      MANA_SERVICE_KEY: credits.serviceKey,
      BILLING_EXEMPT_APPS: 'free-app, other-free',
    });
  });

  afterAll(async () => {
    await service.close();
    await credits.stop();
    await auth.stop();
    await db.drop();
  });

  const client = async (userId: string, appId = 'todo') =>
    new SyncClient(service.url, await auth.token(userId), `${userId}-device`, appId);

  it('answers 402 sync_inactive on push, pull and stream for an inactive subscription, and stores nothing', async () => {
    const lapsed = await client('lapsed');
    const responses = [
      await lapsed.push([{ table: 'tasks', id: 't', op: 'insert', data: {} }]),
      await lapsed.pull('tasks'),
      await lapsed.request('GET', '/sync/todo/stream?collections=tasks'),
    ];
    for (const response of responses) {
      expect(response.status).toBe(402);
      expect(response.body).toEqual({
        statusCode: 402,
        error: 'sync_inactive',
        message: expect.any(String),
      });
    }
    const { rows } = await db.pool.query(`SELECT count(*)::int AS n FROM sync_changes`);
    expect(rows[0].n).toBe(0);
  });

  it('lets an exempt app through without asking the credits service', async () => {
    const before = credits.requests;
    const lapsed = await client('lapsed', 'free-app');
    expect((await lapsed.push([{ table: 'tasks', id: 't', op: 'insert', data: {} }])).status).toBe(
      200,
    );
    expect(credits.requests).toBe(before);
  });

  it('fails open when the credits service errors', async () => {
    credits.failWith = 500;
    try {
      expect((await (await client('fresh-user')).pull('tasks')).status).toBe(200);
    } finally {
      credits.failWith = undefined;
    }
  });

  it('caches the answer: no second request within the TTL', async () => {
    const active = await client('active-user');
    const before = credits.requests;
    expect((await active.pull('tasks')).status).toBe(200);
    expect((await active.pull('tasks')).status).toBe(200);
    expect((await active.push([])).status).toBe(200);
    expect(credits.requests - before).toBe(1);
  });

  it('does not gate health', async () => {
    expect((await fetch(`${service.url}/health`)).status).toBe(200);
  });
});
