import { useService } from '../support/service-fixture';
import { SyncClient } from '../support/sync-client';

const ok = { table: 'tasks', id: 'ok-1', op: 'insert', data: { title: 'fine' } };

describe('bad input: a clear 4xx, nothing stored, never a 5xx', () => {
  const t = useService({}, { membershipApi: false });
  let client: SyncClient;

  beforeAll(async () => {
    client = await t.client('user-1', 'client-a');
  });

  afterEach(async () => {
    const { rows } = await t.db.pool.query('SELECT count(*)::int AS n FROM sync_changes');
    expect(rows[0].n).toBe(0);
  });

  it.each([
    ['an unknown op', [ok, { table: 'tasks', id: 'x', op: 'upsert', data: {} }], /changes\.1\.op/],
    ['a missing table', [ok, ok, { id: 'x', op: 'insert', data: {} }], /changes\.2\.table/],
    ['an empty id', [{ table: 'tasks', id: '', op: 'insert', data: {} }], /changes\.0\.id/],
    ['a non-string id', [{ table: 'tasks', id: 42, op: 'insert', data: {} }], /changes\.0\.id/],
    ['data that is not an object', [{ ...ok, data: 'text' }], /changes\.0\.data/],
    [
      'an insert without data or fields',
      [{ table: 'tasks', id: 'x', op: 'insert' }],
      /changes\[0\]\.data/,
    ],
    [
      'an update without fields',
      [ok, { table: 'tasks', id: 'x', op: 'update' }],
      /changes\[1\]\.fields/,
    ],
    [
      'a field without {value}',
      [{ table: 'tasks', id: 'x', op: 'update', fields: { title: 'bare' } }],
      /changes\[0\]\.fields\.title/,
    ],
    [
      'a field time that is not a time',
      [{ table: 'tasks', id: 'x', op: 'update', fields: { title: { value: 1, at: 'soon' } } }],
      /changes\[0\]\.fields\.title\.at/,
    ],
    ['a non-string spaceId', [{ ...ok, data: { spaceId: 7 } }], /changes\[0\]\.spaceId/],
    [
      'a schemaVersion above the supported one',
      [ok, { ...ok, id: 'v', schemaVersion: 99 }],
      /changes\[1\]\.schemaVersion/,
    ],
  ])(
    'rejects a push with %s (400, names the change index and field)',
    async (_name, changes, message) => {
      const { status, body } = await client.push(changes as unknown[]);
      expect(status).toBe(400);
      expect(body).toEqual({
        statusCode: 400,
        error: 'Bad Request',
        message: expect.stringMatching(message),
      });
    },
  );

  it('rejects a changeset schemaVersion above the supported one', async () => {
    const { status, body } = await client.push([ok], undefined, { schemaVersion: 2 });
    expect(status).toBe(400);
    expect(body.message).toMatch(/schemaVersion 2 is not supported/);
  });

  it('rejects changes that are not an array, and a push without any client id', async () => {
    expect(
      (await client.request('POST', '/sync/todo', { clientId: 'c', changes: {} })).status,
    ).toBe(400);
    const anonymous = await client.request(
      'POST',
      '/sync/todo',
      { changes: [ok] },
      { 'x-client-id': '' },
    );
    expect(anonymous.status).toBe(400);
    expect(anonymous.body.message).toMatch(/clientId/);
  });

  it('rejects invalid JSON with 400 and a body over 10 MB with 413', async () => {
    const bad = await client.request('POST', '/sync/todo', '{"changes": [', {});
    expect(bad.status).toBe(400);
    expect(bad.body).toEqual({
      statusCode: 400,
      error: 'Bad Request',
      message: 'Request body is not valid JSON',
    });
    const big = {
      clientId: 'c',
      changes: [{ ...ok, data: { blob: 'x'.repeat(10 * 1024 * 1024) } }],
    };
    const tooLarge = await client.request('POST', '/sync/todo', big);
    expect(tooLarge.status).toBe(413);
    expect(tooLarge.body.statusCode).toBe(413);
  });

  it('rejects a bad since on push and pull instead of starting from the epoch', async () => {
    const push = await client.push([ok], 'last tuesday');
    expect(push.status).toBe(400);
    expect(push.body.message).toMatch(/since/);
    const pull = await client.pull('tasks', 'garbage');
    expect(pull.status).toBe(400);
    expect(pull.body.message).toMatch(/since/);
  });

  it('rejects a pull without collection and a bad appId', async () => {
    const pull = await client.request('GET', '/sync/todo/pull');
    expect(pull.status).toBe(400);
    expect(pull.body.message).toMatch(/collection/);
    const app = await client.request('GET', '/sync/bad%20app/pull?collection=tasks');
    expect(app.status).toBe(400);
  });

  it('stores nothing of a push whose last change fails in the database', async () => {
    const changes = Array.from({ length: 50 }, (_, i) => ({ ...ok, id: `r${i}` }));
    // A NUL character is valid JSON but PostgreSQL's jsonb refuses it.
    changes.push({ ...ok, id: 'nul', data: { title: 'bad \u0000 byte' } });
    const { status, body } = await client.push(changes);
    expect(status).toBeLessThan(500);
    expect(status).toBe(400);
    expect(JSON.stringify(body)).not.toMatch(/jsonb|SELECT|INSERT/i);
  });
});
