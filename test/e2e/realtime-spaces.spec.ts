import { useService } from '../support/service-fixture';
import { TestApp } from '../support/test-app';
import { sleep, WsTestClient } from '../support/ws-client';

/** Who hears of a push into a shared space: its members, on the right app, on any instance. */
describe('realtime notifications to space members', () => {
  const t = useService(
    {
      // No membership cache, a fast refresh: a join or leave shows within a few hundred ms.
      MEMBERSHIP_CACHE_TTL_MS: '0',
      WS_MEMBERSHIP_REFRESH_MS: '100',
    },
    {
      instances: 2,
      beforeStart: ({ auth }) => {
        auth.memberships.set('user-1', ['space-x']);
        auth.memberships.set('user-2', ['space-x', 'space-y']);
      },
    },
  );
  let one: TestApp;
  let two: TestApp;
  const sockets: WsTestClient[] = [];
  let seq = 0;

  async function socket(app: TestApp, user: string, path = '/ws'): Promise<WsTestClient> {
    const client = await WsTestClient.authenticated(app.url, await t.auth.token(user), path);
    sockets.push(client);
    return client;
  }

  async function pushInto(spaceId: string, user = 'user-1'): Promise<void> {
    seq++;
    const client = await t.client(user);
    const response = await client.push([
      { table: 'tasks', id: `s${seq}`, op: 'insert', spaceId, data: { title: `shared ${seq}` } },
    ]);
    expect(response.status).toBe(200);
  }

  const notified = (client: WsTestClient) => client.of('sync-available').length > 0;

  beforeAll(() => {
    [one, two] = t.services;
  });

  afterEach(() => {
    for (const client of sockets.splice(0)) client.close();
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
    t.auth.memberships.set('user-3', ['space-x']);
    t.auth.memberships.set('user-2', ['space-y']);
    // Several refresh periods (100 ms): both instances have looked both users up again.
    await sleep(500);

    await pushInto('space-x');
    await newcomer.waitFor((m) => m.type === 'sync-available', 1000);
    await sleep(300);
    expect(notified(leaver)).toBe(false);
    t.auth.memberships.set('user-2', ['space-x', 'space-y']);
    t.auth.memberships.delete('user-3');
  });
});
