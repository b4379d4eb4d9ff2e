import { mkdtemp, rm } from 'fs/promises';
import { request as httpRequest } from 'http';
import { tmpdir } from 'os';
import { join } from 'path';
import { CompactionService } from '../../src/compaction/compaction.service';
import { OpsHistory } from '../../src/inspect/ops-history';
import { useService } from '../support/service-fixture';
import { SyncClient } from '../support/sync-client';
import { WsTestClient } from '../support/ws-client';

const at = (second: number) => `2026-03-01T10:00:${String(second).padStart(2, '0')}.000Z`;

/** The inspector's routes answer only what the token's user could pull: own rows and their spaces'. */
describe('inspector routes: scope, shapes and errors', () => {
  const t = useService(
    { LOCAL_AUTH: 'false', RATE_LIMIT_PULL_PER_MINUTE: '1000', COMPACTION_INTERVAL_MS: '0' },
    {
      beforeStart: ({ auth }) => {
        auth.memberships.set('alice', ['team-1']);
        auth.memberships.set('bob', ['team-1']);
      },
    },
  );
  let alice: SyncClient;
  let bob: SyncClient;
  let stranger: SyncClient;
  const get = (client: SyncClient, path: string) => client.request('GET', `/inspect/api/${path}`);

  beforeAll(async () => {
    alice = await t.client('alice', 'alice-laptop');
    bob = await t.client('bob', 'bob-phone');
    stranger = await t.client('mallory', 'mallory-phone');
    expect(
      (
        await alice.push([
          { table: 'tasks', id: 't1', op: 'insert', data: { title: 'Buy milk', updatedAt: at(1) } },
          {
            table: 'tasks',
            id: 'shared',
            op: 'insert',
            data: { title: 'Plan', updatedAt: at(1) },
            spaceId: 'team-1',
          },
          { table: 'notes', id: 'n1', op: 'insert', data: { text: 'hi', updatedAt: at(1) } },
        ])
      ).status,
    ).toBe(200);
    // bob writes the shared task twice: once newer, once with an older time (a lost write).
    expect(
      (
        await bob.push([
          {
            table: 'tasks',
            id: 'shared',
            op: 'update',
            fields: { title: { value: 'Plan B', at: at(5) } },
            spaceId: 'team-1',
            actor: { kind: 'user', id: 'bob' },
            origin: 'phone-app',
          },
          {
            table: 'tasks',
            id: 'shared',
            op: 'update',
            fields: { title: { value: 'Stale', at: at(3) } },
            spaceId: 'team-1',
          },
        ])
      ).status,
    ).toBe(200);
    expect((await alice.push([{ table: 'tasks', id: 't1', op: 'delete' }])).status).toBe(200);
  });

  it('lists the apps and collections a user can read, and nothing to a stranger', async () => {
    const answer = await get(alice, 'apps');
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ userId: 'alice', spaceIds: ['team-1'], truncated: false });
    expect(answer.body.liveCursor).toMatch(/^\d{4}-\d{2}-\d{2}T[\d:.]+Z$/);
    expect(answer.body.apps).toEqual([
      {
        appId: 'todo',
        collections: [
          { name: 'notes', rows: 1, records: 1, lastChangeAt: expect.any(String), spaces: [] },
          {
            name: 'tasks',
            rows: 5,
            records: 2,
            lastChangeAt: expect.any(String),
            spaces: ['team-1'],
          },
        ],
      },
    ]);
    // bob reads only the shared space's rows of alice's, and his own.
    expect((await get(bob, 'apps')).body.apps).toEqual([
      {
        appId: 'todo',
        collections: [
          {
            name: 'tasks',
            rows: 3,
            records: 1,
            lastChangeAt: expect.any(String),
            spaces: ['team-1'],
          },
        ],
      },
    ]);
    expect((await get(stranger, 'apps')).body).toMatchObject({ userId: 'mallory', apps: [] });
  });

  it("shows each record as a device holds it, who wrote each field, and a hard delete's effect", async () => {
    const answer = await get(alice, 'records?app=todo&collection=tasks');
    expect(answer.status).toBe(200);
    expect(answer.body.nextAfter).toBeNull();
    const [shared, t1] = answer.body.records;
    expect(shared).toMatchObject({ id: 'shared', state: 'present', changes: 3 });
    expect(shared.fields.title).toMatchObject({
      value: 'Plan B',
      at: at(5),
      deviceTime: false,
      clientId: 'bob-phone',
      userId: 'bob',
      actor: { kind: 'user', id: 'bob' },
      origin: 'phone-app',
    });
    expect(shared.fields.updatedAt).toMatchObject({ value: at(1), clientId: 'alice-laptop' });
    expect(t1).toMatchObject({ id: 't1', state: 'removed', fields: {}, changes: 2 });

    const page = await get(alice, 'records?app=todo&collection=tasks&limit=1');
    expect(page.body.records.map((r: { id: string }) => r.id)).toEqual(['shared']);
    expect(page.body.nextAfter).toBe('shared');
    const next = await get(alice, 'records?app=todo&collection=tasks&limit=1&after=shared');
    expect(next.body).toMatchObject({ records: [{ id: 't1' }], nextAfter: null });

    expect((await get(stranger, 'records?app=todo&collection=tasks')).body).toEqual({
      records: [],
      nextAfter: null,
    });
  });

  it('explains each lost write of a history, oldest first', async () => {
    const answer = await get(bob, 'history?app=todo&collection=tasks&record=shared');
    expect(answer.status).toBe(200);
    const { changes, record, compaction } = answer.body;
    expect(record.fields.title.value).toBe('Plan B');
    expect(compaction).toEqual({ rowsRemoved: 0, fieldsStripped: 0, lastAt: null });
    expect(changes.map((c: any) => [c.kind, c.clientId, c.creates])).toEqual([
      ['insert', 'alice-laptop', true],
      ['update', 'bob-phone', false],
      ['update', 'bob-phone', false],
    ]);
    const titleOf = (i: number) => changes[i].writes.find((w: any) => w.field === 'title');
    expect(titleOf(0)).toMatchObject({
      holds: false,
      reason: 'older-time',
      lostTo: changes[1].eventId,
    });
    expect(titleOf(1)).toMatchObject({ holds: true, value: 'Plan B' });
    expect(titleOf(2)).toMatchObject({
      holds: false,
      reason: 'older-time',
      lostTo: changes[1].eventId,
    });
    expect(changes[0].position).toMatch(/^\d+\.\d+$/);

    const deleted = await get(alice, 'history?app=todo&collection=tasks&record=t1');
    expect(deleted.body.changes[0].writes).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          field: 'title',
          holds: false,
          reason: 'later-delete',
          lostTo: deleted.body.changes[1].eventId,
        }),
      ]),
    );
  });

  it('answers 404 for a record the user cannot read, the same as for one that never existed', async () => {
    const foreign = await get(stranger, 'history?app=todo&collection=tasks&record=shared');
    const missing = await get(alice, 'history?app=todo&collection=tasks&record=nope');
    expect(foreign.status).toBe(404);
    expect(missing.status).toBe(404);
    expect(foreign.body).toEqual({
      statusCode: 404,
      error: 'Not Found',
      message: 'No record "shared" in todo/tasks',
    });
  });

  it('counts the rows compaction removed from a history, for those who can read them', async () => {
    // bob's newest title covers his two earlier ones (same group: user and space).
    const newest = { title: { value: 'Plan C', at: at(7) } };
    const pushed = await bob.push([
      { table: 'tasks', id: 'shared', op: 'update', fields: newest, spaceId: 'team-1' },
    ]);
    expect(pushed.status).toBe(200);
    const before = await get(bob, 'history?app=todo&collection=tasks&record=shared');
    const report = await t.service.app
      .get(CompactionService)
      .runPass({ minAgeHours: 0, untilComplete: true });
    expect(report.rowsRemoved).toBeGreaterThan(0);
    const after = await get(bob, 'history?app=todo&collection=tasks&record=shared');
    expect(before.body.changes).toHaveLength(4);
    expect(after.body.changes).toHaveLength(2);
    expect(after.body.compaction).toMatchObject({ rowsRemoved: 2, lastAt: expect.any(String) });
    // The device state is the same without the removed rows.
    expect(after.body.record.fields).toEqual(before.body.record.fields);
    // A co-member of the space reads the same count; a stranger reads nothing.
    const fromAlice = await get(alice, 'history?app=todo&collection=tasks&record=shared');
    expect(fromAlice.body.compaction.rowsRemoved).toBe(2);
    const stranger404 = await get(stranger, 'history?app=todo&collection=tasks&record=shared');
    expect(stranger404.status).toBe(404);
    // alice's own record t1: insert then hard delete; the insert goes, only she sees the count.
    const t1 = await get(alice, 'history?app=todo&collection=tasks&record=t1');
    expect(t1.body.compaction.rowsRemoved).toBe(1);
    expect((await get(bob, 'history?app=todo&collection=tasks&record=t1')).status).toBe(404);
  });

  it('gives push times of changes by id, only of readable ones', async () => {
    const pushed = await alice.push([
      { table: 'tasks', id: 't9', op: 'insert', data: { title: 'x' } },
    ]);
    expect(pushed.status).toBe(200);
    const { body } = await get(alice, 'history?app=todo&collection=tasks&record=t9');
    const id = body.changes[0].eventId;
    const answer = await get(alice, `changes?app=todo&ids=${id}`);
    expect(answer.status).toBe(200);
    expect(answer.body.serverTime).toEqual(expect.any(String));
    expect(answer.body.changes).toEqual([
      {
        eventId: id,
        collection: 'tasks',
        recordId: 't9',
        clientId: 'alice-laptop',
        createdAt: expect.stringMatching(/Z$/),
      },
    ]);
    expect((await get(stranger, `changes?app=todo&ids=${id}`)).body.changes).toEqual([]);
    expect((await get(bob, `changes?app=todo&ids=${id}`)).body.changes).toEqual([]);
  });

  it('lists only the user’s own open sockets and streams', async () => {
    const socket = await WsTestClient.authenticated(t.service.url, alice.token!, '/ws/todo', {
      clientId: 'alice-tablet',
    });
    const stream = await alice.stream(['tasks']);
    await stream.waitFor((events) => events.length > 0);
    try {
      const answer = await get(alice, 'devices');
      expect(answer.status).toBe(200);
      expect(answer.body.userId).toBe('alice');
      expect(answer.body.devices).toEqual(
        expect.arrayContaining([
          { kind: 'websocket', appId: 'todo', clientId: 'alice-tablet', since: expect.any(String) },
          {
            kind: 'sse',
            appId: 'todo',
            clientId: 'alice-laptop',
            since: expect.any(String),
            collections: ['tasks'],
          },
        ]),
      );
      expect(answer.body.devices).toHaveLength(2);
      expect((await get(stranger, 'devices')).body.devices).toEqual([]);
      expect((await get(bob, 'devices')).body.devices).toEqual([]);
    } finally {
      socket.close();
      stream.close();
    }
  });

  it('wants a token, and names the bad parameter', async () => {
    const anonymous = new SyncClient(t.service.url, undefined, 'x');
    for (const path of ['apps', 'records?app=todo&collection=tasks', 'devices']) {
      expect((await get(anonymous, path)).status).toBe(401);
    }
    const cases: [string, RegExp][] = [
      ['records?app=bad%20app&collection=tasks', /appId must be/],
      ['records?app=todo', /collection/],
      ['records?app=todo&collection=tasks&limit=0', /limit must not be less than 1/],
      ['records?app=todo&collection=tasks&limit=abc', /limit must be an integer/],
      ['records?app=todo&collection=tasks&app=x', /appId must be/],
      ['history?app=todo&collection=tasks', /record/],
      ['changes?app=todo&ids=not-a-uuid', /ids must be event ids/],
      [
        `changes?app=todo&ids=${Array(101).fill('6f1c2a9e-1d2b-4c3d-9e8f-0a1b2c3d4e5f').join(',')}`,
        /at most 100/,
      ],
    ];
    for (const [path, message] of cases) {
      const answer = await get(alice, path);
      expect({ path, status: answer.status, message: answer.body.message }).toEqual({
        path,
        status: 400,
        message: expect.stringMatching(message),
      });
    }
  });

  it('has no local sign-in route without local auth', async () => {
    const answer = await alice.request('POST', '/inspect/api/local-token', { userId: 'alice' });
    expect(answer.status).toBe(404);
  });

  it('serves the dashboard history of metrics, without user data', async () => {
    const history = t.service.app.get(OpsHistory);
    await history.sample();
    await alice.pull('tasks');
    const last = await history.sample();
    const answer = await alice.request('GET', '/inspect/api/ops');
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ intervalMs: 2000, windowMs: 900000 });
    expect(answer.body.samples.at(-1)).toEqual(JSON.parse(JSON.stringify(last)));
    expect(last!.pullRate).toBeGreaterThan(0);
    expect(last!.pullP50).toBeGreaterThan(0);
    expect(last!.poolInUse).toEqual(expect.any(Number));
    expect(last!.hintDelayP50 === null || typeof last!.hintDelayP50 === 'number').toBe(true);
    expect(JSON.stringify(answer.body)).not.toMatch(/alice|Buy milk|todo/);
    const after = await alice.request('GET', `/inspect/api/ops?after=${last!.t}`);
    expect(after.body.samples).toEqual([]);
  });
});

describe('inspector routes under METRICS_TOKEN and local auth', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'inspect-local-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));
  const t = useService(
    () => ({
      METRICS_TOKEN: 'ops-secret',
      LOCAL_AUTH: 'true',
      JWKS_URL: '',
      LOCAL_AUTH_KEY_FILE: join(dir, 'key.json'),
    }),
    { membershipApi: false },
  );

  it('protects the dashboard data like /metrics', async () => {
    const open = await fetch(`${t.service.url}/inspect/api/ops`);
    expect(open.status).toBe(401);
    const wrong = await fetch(`${t.service.url}/inspect/api/ops`, {
      headers: { authorization: 'Bearer nope' },
    });
    expect(wrong.status).toBe(401);
    const right = await fetch(`${t.service.url}/inspect/api/ops`, {
      headers: { authorization: 'Bearer ops-secret' },
    });
    expect(right.status).toBe(200);
  });

  it('signs a token for "continue as" that the sync routes accept', async () => {
    const answer = await fetch(`${t.service.url}/inspect/api/local-token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ userId: 'alice' }),
    });
    expect(answer.status).toBe(200);
    const body = (await answer.json()) as { token: string; userId: string; expiresAt: string };
    expect(body.userId).toBe('alice');
    const client = new SyncClient(t.service.url, body.token, 'alice-laptop');
    expect((await client.push([{ table: 'tasks', id: 'a', op: 'insert', data: {} }])).status).toBe(
      200,
    );
    expect((await client.request('GET', '/inspect/api/apps')).body.userId).toBe('alice');
  });

  it('refuses a sign-in asked by a page of another origin, or with an invalid user id', async () => {
    // node:http, not fetch: fetch may not set Host.
    const post = (headers: Record<string, string>, userId: unknown = 'alice') =>
      new Promise<{ status: number }>((resolve, reject) => {
        const body = JSON.stringify({ userId });
        const req = httpRequest(
          `${t.service.url}/inspect/api/local-token`,
          { method: 'POST', headers: { 'content-type': 'application/json', ...headers } },
          (res) => {
            res.resume();
            res.on('end', () => resolve({ status: res.statusCode! }));
          },
        );
        req.on('error', reject);
        req.end(body);
      });
    expect((await post({ origin: 'https://evil.example' })).status).toBe(403);
    expect((await post({ 'sec-fetch-site': 'cross-site' })).status).toBe(403);
    expect((await post({ host: 'evil.example:3050' })).status).toBe(403);
    expect((await post({ origin: t.service.url })).status).toBe(200);
    expect((await post({}, '')).status).toBe(400);
    expect((await post({}, 'a b')).status).toBe(400);
  });
});

describe('the local sign-in route under NODE_ENV=production', () => {
  const t = useService({ NODE_ENV: 'production' });

  it('does not exist, and is not in the OpenAPI document', async () => {
    expect(t.service.config.auth.localAuth).toBeUndefined();
    const answer = await fetch(`${t.service.url}/inspect/api/local-token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ userId: 'alice' }),
    });
    expect(answer.status).toBe(404);
    const document = (await (await fetch(`${t.service.url}/docs/openapi.json`)).json()) as {
      paths: Record<string, unknown>;
    };
    expect(Object.keys(document.paths)).not.toContain('/inspect/api/local-token');
    const paths = document.paths as Record<string, Record<string, any>>;
    expect(paths['/inspect/api/apps'].get.security).toEqual([{ 'user-token': [] }]);
    expect(
      paths['/inspect/api/apps'].get.responses['200'].content['application/json'].schema,
    ).toEqual({
      $ref: '#/components/schemas/InspectAppsResponse',
    });
    expect(paths['/inspect/api/history'].get.responses['404']).toBeDefined();
    expect(paths['/inspect/api/ops'].get.security).toEqual([{ 'metrics-token': [] }]);
    expect(paths['/inspect'].get.responses['200'].content).toHaveProperty(['text/html']);
  });
});
