import type { WebSocket } from 'ws';
import { ChangeEvent } from './change-feed';
import { SocketRegistry, SocketSession } from './socket-registry';

function session(appId?: string): SocketSession {
  return { socket: {} as WebSocket, appId, alive: true };
}

function event(overrides: Partial<ChangeEvent> = {}): ChangeEvent {
  return {
    appId: 'todo',
    userId: 'u1',
    clientId: 'c1',
    tables: ['tasks'],
    spaceIds: [],
    txId: '1',
    source: 'local',
    ...overrides,
  };
}

describe('SocketRegistry', () => {
  it('finds the pushing user and the members of the pushed spaces, on the right app only', () => {
    const registry = new SocketRegistry();
    const own = session();
    const ownOtherApp = session('notes');
    const member = session('todo');
    const stranger = session();
    const pending = session();
    for (const s of [own, ownOtherApp, member, stranger, pending]) registry.add(s);
    registry.authenticate(own, 'u1', ['space-x']);
    registry.authenticate(ownOtherApp, 'u1', ['space-x']);
    registry.authenticate(member, 'u2', ['space-x']);
    registry.authenticate(stranger, 'u3', ['space-y']);

    expect(registry.recipients(event())).toEqual([own]);
    expect(new Set(registry.recipients(event({ spaceIds: ['space-x'] })))).toEqual(
      new Set([own, member]),
    );
    expect(registry.recipients(event({ userId: 'u9', spaceIds: ['space-y'] }))).toEqual([stranger]);
    expect(registry.connectionCount).toBe(5);
    expect(registry.authenticatedCount).toBe(4);
    expect(registry.userCount).toBe(3);
  });

  it("skips the pushing client's own sockets when they named their client id", () => {
    const registry = new SocketRegistry();
    const pusher = { ...session(), clientId: 'c1' };
    const sameIdOtherUser = { ...session(), clientId: 'c1' };
    registry.add(pusher);
    registry.add(sameIdOtherUser);
    registry.authenticate(pusher, 'u1', ['space-x']);
    registry.authenticate(sameIdOtherUser, 'u2', ['space-x']);
    expect(registry.recipients(event({ spaceIds: ['space-x'] }))).toEqual([sameIdOtherUser]);
  });

  it('updates the space index on refresh and forgets users whose last socket closed', () => {
    const registry = new SocketRegistry();
    const a = session();
    const b = session();
    registry.add(a);
    registry.add(b);
    registry.authenticate(a, 'u2', ['space-x']);
    registry.authenticate(b, 'u2', ['space-x']);
    registry.setSpaces('u2', ['space-y']);
    expect(registry.recipients(event({ spaceIds: ['space-x'] }))).toEqual([]);
    expect(registry.recipients(event({ spaceIds: ['space-y'] }))).toEqual([a, b]);
    registry.remove(a);
    expect(registry.userIds()).toEqual(['u2']);
    registry.remove(b);
    expect(registry.userIds()).toEqual([]);
    expect(registry.recipients(event({ spaceIds: ['space-y'] }))).toEqual([]);
    expect((registry as unknown as { members: Map<string, unknown> }).members.size).toBe(0);
  });
});
