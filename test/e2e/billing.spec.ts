import { FakeCreditsServer } from '../support/fake-credits';
import { useService } from '../support/service-fixture';

describe('billing gate', () => {
  const credits = new FakeCreditsServer();
  const t = useService(
    () => ({
      MANA_CREDITS_URL: credits.url,
      MANA_SERVICE_KEY: credits.serviceKey,
      BILLING_EXEMPT_APPS: 'free-app, other-free',
    }),
    {
      beforeStart: async () => {
        await credits.start();
        credits.inactiveUsers.add('lapsed');
      },
    },
  );

  afterAll(async () => {
    await credits.stop();
  });

  it('answers 402 sync_inactive on push, pull and stream for an inactive subscription, and stores nothing', async () => {
    const lapsed = await t.client('lapsed');
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
    const { rows } = await t.db.pool.query(`SELECT count(*)::int AS n FROM sync_changes`);
    expect(rows[0].n).toBe(0);
  });

  it('lets an exempt app through without asking the credits service', async () => {
    const before = credits.requests;
    const lapsed = await t.client('lapsed', 'lapsed-device', 'free-app');
    expect((await lapsed.push([{ table: 'tasks', id: 't', op: 'insert', data: {} }])).status).toBe(
      200,
    );
    expect(credits.requests).toBe(before);
  });

  it('fails open when the credits service errors', async () => {
    credits.failWith = 500;
    try {
      expect((await (await t.client('fresh-user')).pull('tasks')).status).toBe(200);
    } finally {
      credits.failWith = undefined;
    }
  });

  it('caches the answer: no second request within the TTL', async () => {
    const active = await t.client('active-user');
    const before = credits.requests;
    expect((await active.pull('tasks')).status).toBe(200);
    expect((await active.pull('tasks')).status).toBe(200);
    expect((await active.push([])).status).toBe(200);
    expect(credits.requests - before).toBe(1);
  });

  it('does not gate health', async () => {
    expect((await fetch(`${t.service.url}/health`)).status).toBe(200);
  });
});
