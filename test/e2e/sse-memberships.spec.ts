import { useService } from '../support/service-fixture';
import { sleep, WsTestClient } from '../support/ws-client';

const EPOCH = '1970-01-01T00:00:00.000Z';
const REFRESH_MS = 200;

/** A member removed from a space stops receiving it on every channel, open streams included. */
describe('removed space members', () => {
  const t = useService(
    { MEMBERSHIP_CACHE_TTL_MS: '0', WS_MEMBERSHIP_REFRESH_MS: String(REFRESH_MS) },
    {
      beforeStart: ({ auth }) => {
        auth.memberships.set('owner', ['space-x']);
        auth.memberships.set('member', ['space-x']);
      },
    },
  );

  const ids = (events: { event: string; data: any }[]): string[] =>
    events.flatMap((e) => (e.event === 'changes' ? e.data.changes.map((c: any) => c.id) : []));

  it('after the refresh interval, no new change of the space reaches their SSE stream, WebSocket or pull', async () => {
    const owner = await t.client('owner', 'owner-phone');
    const laptop = await t.client('member', 'member-laptop');
    const phone = await t.client('member', 'member-phone');

    const stream = await laptop.stream(['tasks']);
    await stream.waitFor((events) => events.some((e) => e.event === 'changes'));
    const socket = await WsTestClient.authenticated(t.service.url, laptop.token!, '/ws', {
      clientId: 'member-laptop',
    });

    const push = async (client: typeof owner, id: string, spaceId?: string): Promise<void> => {
      const change = { table: 'tasks', id, op: 'insert', data: {}, ...(spaceId && { spaceId }) };
      expect((await client.push([change])).status).toBe(200);
    };

    // While a member, they hear of the space.
    await push(owner, 'shared-before', 'space-x');
    await stream.waitFor((events) => ids(events).includes('shared-before'));
    await socket.waitFor((m) => m.type === 'sync-available');
    const cursor = (await laptop.pullAll('tasks', EPOCH)).cursor;

    t.auth.memberships.set('member', []);
    await sleep(REFRESH_MS * 3);
    const hintsBefore = socket.of('sync-available').length;

    await push(owner, 'shared-after', 'space-x');
    // Their own other device's push makes the stream read again, and the socket hint once.
    await push(phone, 'own-after');
    await stream.waitFor((events) => ids(events).includes('own-after'));
    await socket.waitFor(
      (m) => m.type === 'sync-available' && socket.of(m.type).length > hintsBefore,
    );
    await sleep(300);

    expect(ids(stream.events)).toEqual(['shared-before', 'own-after']);
    expect(socket.of('sync-available').length - hintsBefore).toBe(1);
    expect((await laptop.pullAll('tasks', cursor)).changes.map((c) => c.id)).toEqual(['own-after']);
    expect((await laptop.pullAll('tasks', EPOCH)).changes.map((c) => c.id)).toEqual(['own-after']);
    stream.close();
    socket.close();
  });
});
