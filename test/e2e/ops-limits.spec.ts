import { Controller, Get, Module } from '@nestjs/common';
import { useService } from '../support/service-fixture';

/** Holds the slow route's answer until the test lets it go. */
let release: () => void = () => undefined;
const released = new Promise<void>((resolve) => (release = resolve));

/** A team's own routes: one slower than REQUEST_TIMEOUT_MS. */
@Controller('ops-test')
class SlowController {
  @Get('slow')
  async slow(): Promise<{ ok: boolean }> {
    await released;
    return { ok: true };
  }

  @Get('fast')
  fast(): { ok: boolean } {
    return { ok: true };
  }
}

@Module({ controllers: [SlowController] })
class SlowModule {}

const insert = (id: string) => [{ table: 'tasks', id, op: 'insert', data: { id } }];

describe('limits: rate limits, timeouts, security headers', () => {
  // Declared before useService: after-hooks run in declaration order, so the slow handler
  // is let go before the service closes.
  afterAll(() => release());

  const t = useService(
    {
      RATE_LIMIT_PUSH_PER_MINUTE: '3',
      RATE_LIMIT_PULL_PER_MINUTE: '4',
      REQUEST_TIMEOUT_MS: '300',
      SSE_HEARTBEAT_MS: '100',
      CORS_ORIGINS: 'https://app.example',
    },
    { membershipApi: false, imports: [SlowModule] },
  );

  async function rowsOf(userId: string): Promise<number> {
    const { rows } = await t.db.pool.query(
      `SELECT count(*)::int AS n FROM sync_changes WHERE user_id = $1`,
      [userId],
    );
    return rows[0].n;
  }

  it('answers 429 with Retry-After after the configured pushes per minute, per user', async () => {
    const alice = await t.client('alice');
    for (let i = 0; i < 3; i++) expect((await alice.push(insert(`a${i}`))).status).toBe(200);
    const refused = await alice.push(insert('a-over'));
    expect(refused.status).toBe(429);
    expect(refused.body).toEqual({
      statusCode: 429,
      error: 'Too Many Requests',
      message: expect.stringMatching(/rate limit/i),
    });
    const retryAfter = Number(refused.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(await rowsOf('alice')).toBe(3);

    // Another user has a bucket of their own; alice's pulls count separately from her pushes.
    const bob = await t.client('bob');
    expect((await bob.push(insert('b0'))).status).toBe(200);
    expect((await alice.pull('tasks')).status).toBe(200);
  });

  it('limits pulls per user, and never the SSE stream', async () => {
    const carol = await t.client('carol');
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) statuses.push((await carol.pull('tasks')).status);
    expect(statuses).toEqual([200, 200, 200, 200, 429]);
    expect((await (await t.client('dave')).pull('tasks')).status).toBe(200);

    const stream = await carol.stream(['tasks']);
    try {
      expect(stream.response.statusCode).toBe(200);
      // Nor does the request timeout (300 ms) cut the stream: heartbeats (every 100 ms) keep coming.
      const started = Date.now();
      await stream.waitFor((events) => events.filter((e) => e.event === 'heartbeat').length >= 6);
      expect(Date.now() - started).toBeGreaterThan(300);
      expect(stream.ended).toBe(false);
    } finally {
      stream.close();
    }
  });

  it('answers 503 JSON with Retry-After when a handler exceeds REQUEST_TIMEOUT_MS', async () => {
    // The handler never answers on its own here: only the timeout can end the request.
    const response = await fetch(`${t.service.url}/ops-test/slow`);
    expect(response.status).toBe(503);
    expect(response.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(await response.json()).toEqual({
      statusCode: 503,
      error: 'Service Unavailable',
      message: expect.stringMatching(/timed out/),
    });
    expect((await fetch(`${t.service.url}/ops-test/fast`)).status).toBe(200);
  });

  it('sends security headers, and lets browsers of CORS_ORIGINS read Retry-After and X-Request-Id', async () => {
    const response = await fetch(`${t.service.url}/health`, {
      headers: { origin: 'https://app.example' },
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    expect(response.headers.get('x-frame-options')).toBe('SAMEORIGIN');
    expect(response.headers.get('strict-transport-security')).toMatch(/max-age=/);
    expect(response.headers.get('content-security-policy')).toMatch(/default-src 'self'/);
    expect(response.headers.get('x-powered-by')).toBeNull();
    expect(response.headers.get('access-control-allow-origin')).toBe('https://app.example');
    expect(response.headers.get('access-control-expose-headers')).toMatch(/Retry-After/);
    expect(response.headers.get('access-control-expose-headers')).toMatch(/X-Request-Id/);
    const foreign = await fetch(`${t.service.url}/health`, {
      headers: { origin: 'https://evil.example' },
    });
    expect(foreign.headers.get('access-control-allow-origin')).toBeNull();
  });
});

describe('limits set to 0', () => {
  const t = useService(
    { RATE_LIMIT_PUSH_PER_MINUTE: '0', RATE_LIMIT_PULL_PER_MINUTE: '1' },
    { membershipApi: false },
  );

  it('turns that limit off and keeps the other', async () => {
    const erin = await t.client('erin', 'erin-1');
    const pushes: number[] = [];
    for (let i = 0; i < 8; i++) pushes.push((await erin.push(insert(`e${i}`))).status);
    expect(pushes.every((status) => status === 200)).toBe(true);
    expect((await erin.pull('tasks')).status).toBe(200);
    expect((await erin.pull('tasks')).status).toBe(429);
  });
});
