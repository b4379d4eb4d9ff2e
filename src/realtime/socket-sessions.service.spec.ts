import { Logger } from '@nestjs/common';
import { EventEmitter } from 'events';
import type { WebSocket } from 'ws';
import { AuthService } from '../auth/auth.service';
import { loadConfig } from '../config/app-config';
import { MetricsService } from '../metrics/metrics.service';
import { RealtimeMetrics } from './realtime.metrics';
import { ChangeEvent } from './change-feed';
import type { GateListener } from './visibility-gate';
import { SocketMemberships } from './socket-memberships';
import { SocketRegistry } from './socket-registry';
import { SocketSessions } from './socket-sessions.service';
import type { VisibilityGate } from './visibility-gate';

class FakeSocket extends EventEmitter {
  readyState = 1;
  bufferedAmount = 0;
  sent: unknown[] = [];
  terminated = false;
  pings = 0;
  send(data: string): void {
    this.sent.push(JSON.parse(data));
  }
  terminate(): void {
    this.terminated = true;
    this.readyState = 3;
  }
  close(): void {
    this.readyState = 3;
    this.emit('close');
  }
  ping(): void {
    this.pings++;
  }
}

/** Delivers what a test emits to subscribers, as the VisibilityGate does. */
class FakeBus {
  listeners = new Set<GateListener>();
  subscribe(listener: GateListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
  emit(event: ChangeEvent): void {
    for (const listener of this.listeners) listener(event, () => true);
  }
}

const config = loadConfig({
  WS_AUTH_TIMEOUT_MS: '10000',
  WS_PING_INTERVAL_MS: '1000',
  WS_MAX_BUFFERED_BYTES: '1024',
}).realtime;
const event: ChangeEvent = {
  appId: 'todo',
  userId: 'u1',
  clientId: 'x',
  tables: ['tasks'],
  spaceIds: [],
  txId: '1',
  source: 'local',
};

describe('SocketSessions', () => {
  let bus: FakeBus;
  let sessions: SocketSessions;

  beforeAll(() => Logger.overrideLogger(false));

  beforeEach(() => {
    jest.useFakeTimers();
    bus = new FakeBus();
    const auth = { verify: async (token: string) => token } as unknown as AuthService;
    const memberships = { spaceIdsOf: async () => [] } as unknown as SocketMemberships;
    // Stands in for the VisibilityGate too: both deliver events to subscribers.
    const gate = bus as unknown as VisibilityGate;
    sessions = new SocketSessions(
      new SocketRegistry(),
      memberships,
      auth,
      gate,
      config,
      new RealtimeMetrics(new MetricsService()),
    );
    sessions.onApplicationBootstrap();
  });

  afterEach(async () => {
    jest.useRealTimers();
    await sessions.beforeApplicationShutdown();
  });

  async function connect(user: string): Promise<FakeSocket> {
    const socket = new FakeSocket();
    sessions.open(socket as unknown as WebSocket, '/ws');
    await sessions.authenticate(socket as unknown as WebSocket, { type: 'auth', token: user });
    expect(socket.sent).toEqual([{ type: 'auth-ok' }]);
    socket.sent = [];
    return socket;
  }

  it('terminates a socket whose send buffer is over the limit instead of queueing more, others still get theirs', async () => {
    const slow = await connect('u1');
    const fast = await connect('u1');
    slow.bufferedAmount = 4_096;
    bus.emit(event);
    expect(slow.terminated).toBe(true);
    expect(slow.sent).toEqual([]);
    expect(fast.sent).toEqual([{ type: 'sync-available', appId: 'todo', tables: ['tasks'] }]);
  });

  it('pings every interval and terminates a socket that did not answer the previous ping', async () => {
    const answering = await connect('u1');
    const silent = await connect('u2');
    jest.advanceTimersByTime(1_000);
    expect([answering.pings, silent.pings]).toEqual([1, 1]);
    answering.emit('pong');
    jest.advanceTimersByTime(1_000);
    expect(silent.terminated).toBe(true);
    expect(answering.terminated).toBe(false);
    expect(answering.pings).toBe(2);
  });

  it('subscribes to the bus only while an authenticated socket is connected', async () => {
    expect(bus.listeners.size).toBe(0);
    const socket = await connect('u1');
    expect(bus.listeners.size).toBe(1);
    sessions.close(socket as unknown as WebSocket);
    expect(bus.listeners.size).toBe(0);
  });
});
