import { connect } from 'net';
import { useService } from '../support/service-fixture';
import { SyncClient } from '../support/sync-client';
import { startTestApp } from '../support/test-app';
import { sleep, until, WsTestClient } from '../support/ws-client';

describe('WebSocket handshake, heartbeat and shutdown', () => {
  const t = useService({ WS_AUTH_TIMEOUT_MS: '300', WS_PING_INTERVAL_MS: '150' });
  const sockets: WsTestClient[] = [];

  async function open(path = '/ws', options = {}): Promise<WsTestClient> {
    const client = await WsTestClient.open(t.service.url, path, options);
    sockets.push(client);
    return client;
  }

  async function health(app = t.service): Promise<any> {
    return (await new SyncClient(app.url, undefined, 'health').request('GET', '/health')).body;
  }

  afterEach(() => {
    for (const socket of sockets.splice(0)) socket.close();
  });

  it('answers a valid token with auth-ok and pings with pongs', async () => {
    const client = await open();
    client.send({ type: 'auth', token: await t.auth.token('user-1') });
    await client.waitFor((m) => m.type === 'auth-ok');
    client.send({ type: 'ping' });
    await client.waitFor((m) => m.type === 'pong');
    // Still open well past the auth deadline: authenticated sockets stay.
    await sleep(500);
    expect(client.closeCode).toBeUndefined();
    expect(client.messages.map((m) => m.type)).toEqual(['auth-ok', 'pong']);
  });

  it('refuses a bad token with an error, then closes with 1008', async () => {
    const forged = await t.auth.token('user-1', { pair: await otherKeyPair() });
    for (const token of ['not-a-jwt', forged]) {
      const client = await open();
      client.send({ type: 'auth', token });
      const error = await client.waitFor((m) => m.type === 'error');
      expect(error.message).toEqual(expect.any(String));
      expect((await client.closed).code).toBe(1008);
      expect(client.of('auth-ok')).toHaveLength(0);
    }
    const expired = await open();
    expired.send({
      type: 'auth',
      token: await t.auth.token('user-1', { expiresIn: Math.floor(Date.now() / 1000) - 60 }),
    });
    expect((await expired.waitFor((m) => m.type === 'error')).message).toBe('Token expired');
    expect((await expired.closed).code).toBe(1008);

    const missing = await open();
    missing.send({ type: 'auth' });
    expect((await missing.closed).code).toBe(1008);
  });

  it('closes a socket that does not authenticate within the deadline with 1008', async () => {
    const started = Date.now();
    const client = await open();
    client.send({ type: 'ping' });
    const { code, reason } = await client.closed;
    expect(code).toBe(1008);
    expect(reason).toBe('Authentication timeout');
    // Closed by the deadline, not before it.
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
  });

  it('answers unknown messages with an error and keeps the socket', async () => {
    const client = await WsTestClient.authenticated(t.service.url, await t.auth.token('user-1'));
    sockets.push(client);
    client.send('{not json');
    client.send({ type: 'subscribe' });
    await until(() => client.of('error').length === 2);
    expect(client.of('error').map((m) => m.message)).toEqual([
      'Message is not JSON',
      'Unknown message type',
    ]);
    client.send({ type: 'ping' });
    await client.waitFor((m) => m.type === 'pong');
  });

  it('serves /ws/:appId, refuses an invalid appId and unknown paths', async () => {
    const app = await WsTestClient.authenticated(
      t.service.url,
      await t.auth.token('user-1'),
      '/ws/todo',
    );
    sockets.push(app);
    const invalid = await open('/ws/bad%20app');
    expect((await invalid.closed).code).toBe(1008);
    await expect(WsTestClient.open(t.service.url, '/nope')).rejects.toThrow(/404/);
    await expect(WsTestClient.open(t.service.url, '/ws/todo/extra')).rejects.toThrow(/404/);
    // A request target that is not even a URL must not take the server down.
    expect(await rawUpgrade(t.service.url, 'http://[')).toMatch(/^HTTP\/1.1 404/);
    expect((await health()).status).toBe('ok');
  });

  it('terminates a socket that stops answering pings, and keeps the others', async () => {
    const token = await t.auth.token('user-1');
    const healthy = await WsTestClient.authenticated(t.service.url, token);
    sockets.push(healthy);
    const silent = await open('/ws', { autoPong: false });
    silent.send({ type: 'auth', token });
    await silent.waitFor((m) => m.type === 'auth-ok');
    // Terminated, not closed: the client sees an abnormal closure.
    expect((await silent.closed).code).toBe(1006);
    await sleep(400);
    expect(healthy.closeCode).toBeUndefined();
  });

  it('reports connection and user counts on /health', async () => {
    await until(async () => (await health()).connections.websockets === 0);
    expect(await health()).toEqual({
      status: 'ok',
      service: 'sync-server',
      connections: { websockets: 0, authenticatedWebsockets: 0, users: 0, sseStreams: 0 },
      changeListener: 'listening',
    });
    const a1 = await WsTestClient.authenticated(t.service.url, await t.auth.token('user-a'));
    const a2 = await WsTestClient.authenticated(
      t.service.url,
      await t.auth.token('user-a'),
      '/ws/todo',
    );
    const b = await WsTestClient.authenticated(t.service.url, await t.auth.token('user-b'));
    const pending = await open();
    sockets.push(a1, a2, b);
    const stream = await new SyncClient(t.service.url, await t.auth.token('user-a'), 'c').stream([
      'tasks',
    ]);
    try {
      await stream.waitFor((events) => events.length > 0);
      expect((await health()).connections).toEqual({
        websockets: 4,
        authenticatedWebsockets: 3,
        users: 2,
        sseStreams: 1,
      });
    } finally {
      stream.close();
    }
    a1.close();
    pending.close();
    expect(await until(async () => (await health()).connections.websockets === 2)).toBe(true);
    expect((await health()).connections).toEqual({
      websockets: 2,
      authenticatedWebsockets: 2,
      users: 2,
      sseStreams: 0,
    });
  });

  it('closes sockets with 1001 when the service shuts down', async () => {
    const other = await startTestApp(t.env);
    let closed = false;
    try {
      const client = await WsTestClient.authenticated(other.url, await t.auth.token('user-1'));
      const unauthenticated = await WsTestClient.open(other.url);
      await other.close();
      closed = true;
      expect((await client.closed).code).toBe(1001);
      expect((await unauthenticated.closed).code).toBe(1001);
    } finally {
      if (!closed) await other.close();
    }
  });
});

/** An upgrade request written by hand, for targets a WebSocket client would refuse to send. */
function rawUpgrade(baseUrl: string, target: string): Promise<string> {
  const { port } = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), '127.0.0.1', () =>
      socket.write(
        `GET ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          `Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ${Buffer.alloc(16).toString('base64')}\r\n\r\n`,
      ),
    );
    let response = '';
    socket.on('data', (chunk) => (response += chunk.toString()));
    socket.on('close', () => resolve(response));
    socket.on('error', reject);
  });
}

async function otherKeyPair() {
  const { generateKeyPair } = await import('jose');
  return generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
}
