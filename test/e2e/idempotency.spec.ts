import { useService } from '../support/service-fixture';
import { SyncClient } from '../support/sync-client';

describe('safe retries', () => {
  const t = useService({}, { membershipApi: false });
  let client: SyncClient;

  beforeAll(async () => {
    client = await t.client('user-1', 'client-a');
    // Something for the push answers to carry.
    await new SyncClient(t.service.url, client.token, 'client-b').push([
      { table: 'tasks', id: 'from-b', op: 'insert', data: {} },
    ]);
  });

  const push = (key: string, changes: unknown[]) =>
    client.request(
      'POST',
      '/sync/todo',
      { clientId: 'client-a', since: '1970-01-01T00:00:00.000Z', changes },
      { 'idempotency-key': key },
    );

  async function rowsOf(recordPrefix: string): Promise<number> {
    const { rows } = await t.db.pool.query(
      `SELECT count(*)::int AS n FROM sync_changes WHERE record_id LIKE $1`,
      [`${recordPrefix}%`],
    );
    return rows[0].n;
  }

  it('stores a retried push once and answers exactly as the first time', async () => {
    const changes = [
      { table: 'tasks', id: 'retry-1', op: 'insert', data: { v: 1 } },
      { table: 'tasks', id: 'retry-2', op: 'insert', data: { v: 2 } },
    ];
    const first = await push('key-1', changes);
    const second = await push('key-1', changes);
    expect(first.status).toBe(200);
    expect(second.status).toBe(200);
    expect(second.body).toEqual(first.body);
    expect(first.body.serverChanges.map((c: any) => c.id)).toEqual(['from-b']);
    expect(await rowsOf('retry-')).toBe(2);
  });

  it('refuses a different request under a reused key with 422, storing nothing', async () => {
    await push('key-2', [{ table: 'tasks', id: 'k2-a', op: 'insert', data: {} }]);
    const reused = await push('key-2', [{ table: 'tasks', id: 'k2-b', op: 'insert', data: {} }]);
    expect(reused.status).toBe(422);
    expect(reused.body).toEqual({
      statusCode: 422,
      error: 'Unprocessable Entity',
      message: expect.stringMatching(/Idempotency-Key/),
    });
    expect(await rowsOf('k2-b')).toBe(0);
  });

  it('lets concurrent retries with one key store one set of rows', async () => {
    const changes = [{ table: 'tasks', id: 'race-1', op: 'insert', data: {} }];
    const answers = await Promise.all(Array.from({ length: 5 }, () => push('key-race', changes)));
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 200, 200]);
    for (const answer of answers) expect(answer.body).toEqual(answers[0].body);
    expect(await rowsOf('race-')).toBe(1);
  });

  it('keeps keys per user', async () => {
    const other = await t.client('user-2', 'client-z');
    const changes = [{ table: 'tasks', id: 'u2-1', op: 'insert', data: {} }];
    const response = await other.request(
      'POST',
      '/sync/todo',
      { clientId: 'client-z', changes },
      { 'idempotency-key': 'key-1' },
    );
    expect(response.status).toBe(200);
    expect(await rowsOf('u2-')).toBe(1);
  });

  it('a failed push releases its key', async () => {
    const bad = [{ table: 'tasks', id: 'nul', op: 'insert', data: { t: 'a\u0000b' } }];
    expect((await push('key-fail', bad)).status).toBe(400);
    const good = [{ table: 'tasks', id: 'after-fail', op: 'insert', data: {} }];
    expect((await push('key-fail', good)).status).toBe(200);
    expect(await rowsOf('after-fail')).toBe(1);
  });
});
