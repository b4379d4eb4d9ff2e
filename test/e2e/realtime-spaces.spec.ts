import { FakeAuthServer } from '../support/fake-auth';
import { SyncClient } from '../support/sync-client';
import { startTestApp, TestApp } from '../support/test-app';
import { createTestDatabase, TestDatabase } from '../support/test-database';
import { sleep, WsTestClient } from '../support/ws-client';

/** Who hears of a push into a shared space: its members, on the right app, on any instance. */
describe('realtime notifications to space members', () => {
  let db: TestDatabase;
  let auth: FakeAuthServer;
  let one: TestApp;
  let two: TestApp;
  const sockets: WsTestClient[] = [];
  let seq = 0;

  async function socket(app: TestApp, user: string, path = '/ws'): Promise<WsTestClient> {
    const client = await WsTestClient.authenticated(app.url, await auth.token(user), path);
    sockets.push(client);
    return client;
  }

  async function pushInto(spaceId: string, user = 'user-1'): Promise<void> {
    seq++;
    const client = new SyncClient(one.url, await auth.token(user), `${user}-device`);
    const response = await client.push([
      { table: 'tasks', id: `s${seq}`, op: 'insert', spaceId, data: { title: `shared ${seq}` } },
    ]);
    expect(response.status).toBe(200);
  }

  const notified = (client: WsTestClient) => client.of('sync-available').length > 0;

  beforeAll(async () => {
    db = await createTestDatabase();
    auth = await new FakeAuthServer().start();
    auth.memberships.set('user-1', ['space-x']);
    auth.memberships.set('user-2', ['space-x', 'space-y']);
    const env = {
      DATABASE_URL: db.url,
      JWKS_URL: auth.jwksUrl,
      MANA_AUTH_URL: auth.url,
      MANA_SERVICE_KEY: auth.serviceKey,
      // No membership cache, a fast refresh: a join or leave shows within a few hundred ms.
      MEMBERSHIP_CACHE_TTL_MS: '0',
      WS_MEMBERSHIP_REFRESH_MS: '100',
    };
    [one, two] = await Promise.all([startTestApp(env), startTestApp(env)]);
  });

  afterEach(() => {
    for (const client of sockets.splice(0)) client.close();
  });

  afterAll(async () => {
    await one?.close();
    await two?.close();
    await auth?.stop();
    await db?.drop();
  });

  it("tells a co-member's sockets on both instances, not a stranger's, not another app's", async () => {
    const memberRemote = await socket(two, 'user-2');
    const memberLocal = await socket(one, 'user-2', '/ws/todo');
    const memberOtherApp = await socket(two, 'user-2', '/ws/other-app');
    const stranger = await socket(two, 'user-3');
    const strangerLocal = await socket(one, 'user-3');

    await pushInto('space-x');
    const note = await memberRemote.waitFor((m) => m.type === 'sync-available', 1000);
    expect(note).toMatchObject({ appId: 'todo', tables: ['tasks'] });
    await memberLocal.waitFor((m) => m.type === 'sync-available', 1000);
    await sleep(300);
    expect(memberOtherApp.of('sync-available')).toEqual([]);
    expect(stranger.of('sync-available')).toEqual([]);
    expect(strangerLocal.of('sync-available')).toEqual([]);
  });

  it("does not tell others of a push into the pusher's personal space", async () => {
    const member = await socket(two, 'user-2');
    await pushInto('_personal:user-1');
    await pushInto('space-x');
    await member.waitFor((m) => m.type === 'sync-available', 1000);
    await sleep(200);
    // One push concerned a space user-2 shares; the personal one did not.
    expect(member.of('sync-available')).toHaveLength(1);
  });

  it('follows membership changes of connected users', async () => {
    const newcomer = await socket(two, 'user-3');
    const leaver = await socket(two, 'user-2');
    auth.memberships.set('user-3', ['space-x']);
    auth.memberships.set('user-2', ['space-y']);
    // Several refresh periods (100 ms): both instances have looked both users up again.
    await sleep(500);

    await pushInto('space-x');
    await newcomer.waitFor((m) => m.type === 'sync-available', 1000);
    await sleep(300);
    expect(notified(leaver)).toBe(false);
    auth.memberships.set('user-2', ['space-x', 'space-y']);
    auth.memberships.delete('user-3');
  });
});
