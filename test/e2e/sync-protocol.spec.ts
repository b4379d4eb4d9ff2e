import { useService } from '../support/service-fixture';
import { SyncClient } from '../support/sync-client';

describe('sync protocol (mana-sync wire compatibility)', () => {
  const t = useService(
    {},
    {
      beforeStart: ({ auth }) =>
        auth.memberships.set('user-1', ['space-explicit', 'space-from-data', 'space-from-fields']),
    },
  );
  let a: SyncClient;
  let b: SyncClient;

  beforeAll(async () => {
    const token = await t.auth.token('user-1');
    a = new SyncClient(t.service.url, token, 'client-a');
    b = new SyncClient(t.service.url, token, 'client-b');
  });

  it('runs the flow of the mana-sync end-to-end script', async () => {
    const insert = await a.push([
      { table: 'tasks', id: 'task-1', op: 'insert', data: { title: 'Buy milk', done: false } },
    ]);
    expect(insert.status).toBe(200);
    expect(insert.body).toEqual({
      serverChanges: [],
      conflicts: [],
      syncedUntil: expect.any(String),
      hasMore: false,
    });

    const pulledByB = await b.pull('tasks', '1970-01-01T00:00:00.000Z');
    expect(pulledByB.status).toBe(200);
    expect(pulledByB.body.serverChanges).toEqual([
      {
        eventId: expect.stringMatching(/^[0-9a-f-]{36}$/),
        schemaVersion: 1,
        table: 'tasks',
        id: 'task-1',
        op: 'insert',
        data: { title: 'Buy milk', done: false },
      },
    ]);
    expect(pulledByB.body.hasMore).toBe(false);

    const at = '2026-11-27T10:00:00.000Z';
    const update = await b.push(
      [
        {
          table: 'tasks',
          id: 'task-1',
          op: 'update',
          fields: { title: { value: 'Buy oat milk', at }, done: { value: true, at } },
        },
      ],
      pulledByB.body.syncedUntil,
    );
    expect(update.status).toBe(200);
    expect(update.body.serverChanges).toEqual([]);

    const pulledByA = await a.pull('tasks', insert.body.syncedUntil);
    expect(pulledByA.body.serverChanges).toEqual([
      expect.objectContaining({
        op: 'update',
        id: 'task-1',
        fields: { title: { value: 'Buy oat milk', at }, done: { value: true, at } },
      }),
    ]);

    const deletedAt = '2026-11-27T11:00:00.000Z';
    const del = await a.push(
      [{ table: 'tasks', id: 'task-1', op: 'delete', deletedAt }],
      pulledByA.body.syncedUntil,
    );
    expect(del.status).toBe(200);
    const afterDelete = await b.pull('tasks', update.body.syncedUntil);
    expect(afterDelete.body.serverChanges).toEqual([
      expect.objectContaining({ op: 'delete', id: 'task-1', deletedAt }),
    ]);

    // A delete without deletedAt (scripts, tools) stays a hard delete on the way out, as in mana-sync.
    const hard = await a.push(
      [{ table: 'tasks', id: 'task-2', op: 'delete' }],
      afterDelete.body.syncedUntil,
    );
    expect(hard.status).toBe(200);
    const afterHard = await b.pull('tasks', afterDelete.body.syncedUntil);
    expect(afterHard.body.serverChanges).toHaveLength(1);
    expect(afterHard.body.serverChanges[0]).toMatchObject({ op: 'delete', id: 'task-2' });
    expect(afterHard.body.serverChanges[0]).not.toHaveProperty('deletedAt');

    const anonymous = new SyncClient(t.service.url, undefined, 'client-x');
    const unauthorized = await anonymous.push([
      { table: 'tasks', id: 'task-2', op: 'insert', data: {} },
    ]);
    expect(unauthorized.status).toBe(401);
    expect(unauthorized.body).toEqual({
      statusCode: 401,
      error: 'Unauthorized',
      message: expect.any(String),
    });
  });

  it('round-trips every op with actor, origin, spaceId and schemaVersion', async () => {
    const actor = { kind: 'ai', agent: { id: 'agent-7', model: 'x' }, tags: ['a', 1, null] };
    const since = (await b.pull('notes')).body.syncedUntil;
    const push = await a.push(
      [
        {
          table: 'notes',
          id: 'n1',
          op: 'insert',
          data: { text: 'hello', n: 1 },
          actor,
          origin: 'agent',
          spaceId: 'space-explicit',
        },
        { table: 'notes', id: 'n2', op: 'insert', data: { text: 'x', spaceId: 'space-from-data' } },
        {
          table: 'notes',
          id: 'n3',
          op: 'update',
          fields: { spaceId: { value: 'space-from-fields', at: '2026-11-27T09:00:00.000Z' } },
        },
        {
          table: 'notes',
          id: 'n4',
          op: 'update',
          fields: { text: { value: 'legacy', updatedAt: '2026-01-02T03:04:05.000Z' } },
        },
        {
          table: 'notes',
          id: 'n5',
          op: 'delete',
          deletedAt: '2026-11-27T12:00:00.000Z',
          origin: 'user',
        },
      ],
      undefined,
      { schemaVersion: 1 },
    );
    expect(push.status).toBe(200);
    const { body } = await b.pull('notes', since);
    const byId = Object.fromEntries(body.serverChanges.map((c: any) => [c.id, c]));
    expect(byId.n1).toEqual({
      eventId: expect.any(String),
      schemaVersion: 1,
      table: 'notes',
      id: 'n1',
      op: 'insert',
      data: { text: 'hello', n: 1 },
      actor,
      origin: 'agent',
      spaceId: 'space-explicit',
    });
    expect(byId.n2.spaceId).toBe('space-from-data');
    expect(byId.n3.spaceId).toBe('space-from-fields');
    expect(byId.n4.fields).toEqual({ text: { value: 'legacy', at: '2026-01-02T03:04:05.000Z' } });
    expect(byId.n5).toEqual(
      expect.objectContaining({
        op: 'delete',
        deletedAt: '2026-11-27T12:00:00.000Z',
        origin: 'user',
      }),
    );
    expect(byId.n5).not.toHaveProperty('actor');
  });

  it('keeps a client-generated eventId, and a second push of the same event stores nothing new', async () => {
    const eventId = '0b8d3c52-6f39-4f4e-a8c4-1f0c2b9e7a11';
    const change = { eventId, table: 'dedupe', id: 'd1', op: 'insert', data: { v: 1 } };
    expect((await a.push([change])).status).toBe(200);
    expect((await a.push([change])).status).toBe(200);
    const { rows } = await t.db.pool.query('SELECT id FROM sync_changes WHERE table_name = $1', [
      'dedupe',
    ]);
    expect(rows).toEqual([{ id: eventId }]);
    expect((await b.pull('dedupe')).body.serverChanges.map((c: any) => c.eventId)).toEqual([
      eventId,
    ]);
  });

  it('X-Client-Id wins over the body clientId, and a client never gets its own changes back', async () => {
    const result = await a.request(
      'POST',
      '/sync/todo',
      { clientId: 'body-client', changes: [{ table: 'echo', id: 'e1', op: 'insert', data: {} }] },
      { 'x-client-id': 'header-client' },
    );
    expect(result.status).toBe(200);
    const { rows } = await t.db.pool.query(
      'SELECT client_id FROM sync_changes WHERE table_name = $1',
      ['echo'],
    );
    expect(rows).toEqual([{ client_id: 'header-client' }]);

    const headerClient = new SyncClient(t.service.url, a.token, 'header-client');
    expect((await headerClient.pull('echo')).body.serverChanges).toEqual([]);
    expect((await a.pull('echo')).body.serverChanges).toHaveLength(1);
    // The push response of the writer itself never echoes its changes either.
    const again = await headerClient.push([{ table: 'echo', id: 'e2', op: 'insert', data: {} }]);
    expect(again.body.serverChanges.length).toBeGreaterThan(0);
    expect(again.body.serverChanges.filter((c: any) => c.table === 'echo')).toEqual([]);
  });

  it("answers a push with other clients' changes since `since`, across tables", async () => {
    const start = (await a.push([])).body.syncedUntil;
    await b.push([
      { table: 'alpha', id: 'x1', op: 'insert', data: { v: 1 } },
      { table: 'beta', id: 'x2', op: 'insert', data: { v: 2 } },
    ]);
    const response = await a.push([{ table: 'gamma', id: 'x3', op: 'insert', data: {} }], start);
    expect(response.body.serverChanges.map((c: any) => `${c.table}/${c.id}`).sort()).toEqual([
      'alpha/x1',
      'beta/x2',
    ]);
  });

  it('per-change schemaVersion falls back to the changeset, 0 means 1', async () => {
    await a.push(
      [
        { table: 'versions', id: 'v0', op: 'insert', data: {}, schemaVersion: 0 },
        { table: 'versions', id: 'v1', op: 'insert', data: {} },
      ],
      undefined,
      { schemaVersion: 0 },
    );
    const { rows } = await t.db.pool.query(
      'SELECT record_id, schema_version FROM sync_changes WHERE table_name = $1 ORDER BY record_id',
      ['versions'],
    );
    expect(rows).toEqual([
      { record_id: 'v0', schema_version: 1 },
      { record_id: 'v1', schema_version: 1 },
    ]);
  });

  it("never shows one user another user's changes", async () => {
    const other = await t.client('user-2', 'client-z');
    await other.push([{ table: 'tasks', id: 'secret', op: 'insert', data: { secret: true } }]);
    const { changes } = await a.pullAll('tasks');
    expect(changes.find((c: any) => c.id === 'secret')).toBeUndefined();
  });
});
