import { Logger } from '@nestjs/common';
import { LogSink } from '../support/log-sink';
import { useService } from '../support/service-fixture';
import { SyncClient } from '../support/sync-client';
import { startTestApp } from '../support/test-app';

describe('structured logs', () => {
  const sink = new LogSink();
  const t = useService({}, { logger: ['log', 'warn', 'error'], logDestination: sink });

  it('writes one JSON line per push with request id, user, app, status and duration, and no secrets or content', async () => {
    const token = await t.auth.token('alice');
    const alice = new SyncClient(t.service.url, token, 'alice-phone');
    const response = await alice.request(
      'POST',
      '/sync/todo',
      {
        since: '1970-01-01T00:00:00.000Z',
        changes: [
          { table: 'tasks', id: 't1', op: 'insert', data: { title: 'RECORD-CONTENT-7f3a' } },
        ],
      },
      { 'x-request-id': 'trace-abc-123', cookie: 'session=COOKIE-SECRET-9d1e' },
    );
    expect(response.status).toBe(200);
    expect(response.headers.get('x-request-id')).toBe('trace-abc-123');

    const line = await sink.requestLine('trace-abc-123');
    expect(line).toMatchObject({
      level: 'info',
      requestId: 'trace-abc-123',
      method: 'POST',
      url: '/sync/todo',
      route: '/sync/:appId',
      status: 200,
      userId: 'alice',
      appId: 'todo',
      durationMs: expect.any(Number),
    });
    expect(typeof line.time).toBe('string');

    const everything = sink.lines.join('\n');
    for (const secret of [
      token,
      'Bearer',
      t.auth.serviceKey,
      'COOKIE-SECRET-9d1e',
      'RECORD-CONTENT-7f3a',
    ]) {
      expect(everything).not.toContain(secret);
    }
  });

  it('generates a request id when none (or an unusable one) comes in, and echoes it', async () => {
    const bob = await t.client('bob', 'bob-laptop');
    for (const incoming of [undefined, 'has spaces and "quotes"', 'x'.repeat(500)]) {
      const response = await bob.request(
        'GET',
        '/sync/notes/pull?collection=lists',
        undefined,
        incoming === undefined ? {} : { 'x-request-id': incoming },
      );
      expect(response.status).toBe(200);
      const id = response.headers.get('x-request-id')!;
      expect(id).toMatch(/^[0-9a-f-]{36}$/);
      expect(await sink.requestLine(id)).toMatchObject({
        status: 200,
        userId: 'bob',
        appId: 'notes',
        route: '/sync/:appId/pull',
      });
    }
  });

  it('logs refused requests without a user, and 404s by their URL', async () => {
    const anonymous = await fetch(`${t.service.url}/sync/todo/pull?collection=x`, {
      headers: { 'x-request-id': 'no-token-1', authorization: 'Bearer not.a.jwt' },
    });
    expect(anonymous.status).toBe(401);
    const line = await sink.requestLine('no-token-1');
    expect(line).toMatchObject({ status: 401, appId: 'todo' });
    expect(line.userId).toBeUndefined();
    expect(JSON.stringify(line)).not.toContain('not.a.jwt');

    await fetch(`${t.service.url}/nowhere`, { headers: { 'x-request-id': 'lost-1' } });
    expect(await sink.requestLine('lost-1')).toMatchObject({ status: 404, url: '/nowhere' });
  });

  it("routes Nest's own Logger through pino", () => {
    new Logger('OpsLogTest').warn('membership service slow');
    const line = sink.records().find((r) => r.msg === 'membership service slow');
    expect(line).toMatchObject({ level: 'warn', context: 'OpsLogTest' });
  });

  it("keeps tests quiet: createApp's logger ['error'] silences request lines", async () => {
    const quietSink = new LogSink();
    const quiet = await startTestApp(
      { DATABASE_URL: t.db.url, JWKS_URL: t.auth.jwksUrl },
      { logger: ['error'], logDestination: quietSink },
    );
    try {
      const carol = new SyncClient(quiet.url, await t.auth.token('carol'), 'carol-1');
      expect((await carol.push([])).status).toBe(200);
      new Logger('OpsLogTest').log('not shown');
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(quietSink.lines).toEqual([]);
    } finally {
      await quiet.close();
    }
  });
});
