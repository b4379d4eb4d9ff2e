import { randomBytes } from 'crypto';
import { request as httpRequest } from 'http';
import { readZip } from '../support/backup-archive';
import { metricSum, parseMetrics } from '../support/prometheus-text';
import { RawHttpConnection, RawResponse } from '../support/raw-http';
import { useService } from '../support/service-fixture';
import { WsTestClient } from '../support/ws-client';

const EPOCH = '1970-01-01T00:00:00.000Z';
const JSON_LIMIT = 10 * 1024 * 1024;
const IMPORT_LIMIT = 1024 * 1024;

function expectJsonError(response: RawResponse, status: number, message: RegExp): void {
  expect(response.status).toBe(status);
  expect(response.headers['content-type']).toMatch(/^application\/json/);
  expect(JSON.parse(response.body)).toEqual({
    statusCode: status,
    error: expect.any(String),
    message: expect.stringMatching(message),
  });
}

async function count408(url: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  return metricSum(parseMetrics(text), 'sync_http_requests_total', { status: '408' });
}

describe('declared body lengths over the limit: 413 before a byte of the body is read', () => {
  // A bound far longer than the test: every answer below comes from the declared length alone.
  const t = useService({
    REQUEST_BODY_TIMEOUT_MS: '600000',
    BACKUP_IMPORT_MAX_BYTES: String(IMPORT_LIMIT),
  });
  let token: string;

  beforeAll(async () => {
    token = await t.auth.token('user-413');
  });

  const cases: [string, string | undefined, number, RegExp][] = [
    ['POST /sync/todo', 'application/json', 600_000_000, /^Request body exceeds 10 MB$/],
    ['POST /sync/todo', 'application/zip', JSON_LIMIT + 1, /^Request body exceeds 10 MB$/],
    ['POST /sync/todo', 'text/plain', 600_000_000, /^Request body exceeds 10 MB$/],
    ['POST /sync/todo', undefined, 600_000_000, /^Request body exceeds 10 MB$/],
    ['POST /backup/import', 'application/json', 600_000_000, /^Request body exceeds 10 MB$/],
    ['POST /backup/import', 'application/zip', IMPORT_LIMIT + 1, /BACKUP_IMPORT_MAX_BYTES/],
    ['POST /backup/import', 'application/octet-stream', 600_000_000, /BACKUP_IMPORT_MAX_BYTES/],
    ['POST /Backup/Import/', 'application/zip', IMPORT_LIMIT + 1, /BACKUP_IMPORT_MAX_BYTES/],
    ['GET /sync/todo/pull?collection=tasks', 'application/json', 600_000_000, /10 MB/],
    ['POST /nowhere', 'application/json', 600_000_000, /^Request body exceeds 10 MB$/],
  ];

  it.each(cases)(
    '%s (%s, %d bytes declared, none sent): 413 and the connection closed',
    async (route, contentType, length, message) => {
      const [method, path] = route.split(' ');
      for (const auth of [true, false]) {
        const connection = await RawHttpConnection.open(t.service.url);
        connection.head(`${method} ${path} HTTP/1.1`, {
          ...(auth ? { Authorization: `Bearer ${token}` } : {}),
          ...(contentType ? { 'Content-Type': contentType } : {}),
          'Content-Length': length,
        });
        const response = await connection.response();
        expectJsonError(response, 413, message);
        expect(response.headers.connection).toBe('close');
        await connection.closed;
        expect(connection.bodyBytesSent).toBe(0);
      }
    },
  );

  it('answers a client that waits for 100 Continue with 413 instead, and one within the limit with 100 Continue', async () => {
    const refused = await RawHttpConnection.open(t.service.url);
    refused.head('POST /sync/todo HTTP/1.1', {
      Authorization: `Bearer ${token}`,
      'Content-Type': 'application/json',
      'Content-Length': JSON_LIMIT + 1,
      Expect: '100-continue',
    });
    expectJsonError(await refused.response(), 413, /10 MB/);
    await refused.closed;
    expect(refused.statusLines()).toEqual(['HTTP/1.1 413 Payload Too Large']);

    const body = JSON.stringify({ clientId: 'c-continue', since: EPOCH, changes: [] });
    const accepted = await RawHttpConnection.open(t.service.url);
    accepted.head('POST /sync/todo HTTP/1.1', {
      Authorization: `Bearer ${token}`,
      'Content-Type': 'application/json',
      'Content-Length': Buffer.byteLength(body),
      Expect: '100-continue',
    });
    while (accepted.statusLines().length === 0) await new Promise((r) => setTimeout(r, 10));
    expect(accepted.statusLines()).toEqual(['HTTP/1.1 100 Continue']);
    accepted.send(body);
    while (accepted.statusLines().length < 2 && !accepted.isClosed) {
      await new Promise((r) => setTimeout(r, 10));
    }
    expect(accepted.statusLines()).toEqual(['HTTP/1.1 100 Continue', 'HTTP/1.1 200 OK']);
    accepted.close();
  });

  it('takes a body declared at the limit and sent whole', async () => {
    const connection = await RawHttpConnection.open(t.service.url);
    connection.head('POST /backup/import HTTP/1.1', {
      Authorization: `Bearer ${token}`,
      'Content-Type': 'application/zip',
      'Content-Length': IMPORT_LIMIT,
    });
    connection.send(Buffer.alloc(IMPORT_LIMIT));
    // Read whole, then refused for what it is (not an archive), not for its size.
    expectJsonError(await connection.response(), 400, /./);
    connection.close();
  });
});

describe('bodies that arrive too slowly: cut after REQUEST_BODY_TIMEOUT_MS', () => {
  const BOUND_MS = 1_500;
  const t = useService({ REQUEST_BODY_TIMEOUT_MS: String(BOUND_MS) });
  let token: string;

  beforeAll(async () => {
    token = await t.auth.token('user-slow');
  });

  function slowPush(length: number): Promise<RawHttpConnection> {
    return RawHttpConnection.open(t.service.url).then((connection) =>
      connection.head('POST /sync/todo HTTP/1.1', {
        Authorization: `Bearer ${token}`,
        'Content-Type': 'application/json',
        'Content-Length': length,
      }),
    );
  }

  it('answers a declared body that never comes with 408 and closes the connection, counted in /metrics', async () => {
    const before = await count408(t.service.url);
    const connection = await slowPush(1_000);
    const response = await connection.response(20_000);
    expectJsonError(response, 408, /REQUEST_BODY_TIMEOUT_MS/);
    expect(response.headers.connection).toBe('close');
    await connection.closed;
    expect(await count408(t.service.url)).toBe(before + 1);
  });

  it('cuts a body trickled at 10 bytes/s long before it is complete', async () => {
    const declared = 1_000;
    const connection = (await slowPush(declared)).trickleBody(declared, 1, 100);
    const response = await connection.response(60_000);
    expectJsonError(response, 408, /REQUEST_BODY_TIMEOUT_MS/);
    await connection.closed;
    // At 10 bytes/s the body would take 100 s; the cut comes after the bound (plus Node's check period).
    expect(connection.bodyBytesSent).toBeGreaterThan(0);
    expect(connection.bodyBytesSent).toBeLessThan(200);
  });

  it('cuts a slow request head the same way', async () => {
    const connection = await RawHttpConnection.open(t.service.url);
    connection.send('POST /sync/todo HTTP/1.1\r\nHost: localhost\r\n');
    expectJsonError(await connection.response(20_000), 408, /REQUEST_BODY_TIMEOUT_MS/);
    await connection.closed;
  });

  it('cuts 200 trickling sockets at once while normal pushes keep answering', async () => {
    const client = await t.client('user-slow', 'device-normal');
    const slow = await Promise.all(
      Array.from({ length: 200 }, async () =>
        (await slowPush(1_000)).trickleBody(1_000, 10, 1_000),
      ),
    );
    const openWhenAnswered: number[] = [];
    for (let i = 0; i < 5; i++) {
      const { status } = await client.push([
        { table: 'tasks', id: `t${i}`, op: 'insert', data: {} },
      ]);
      expect(status).toBe(200);
      openWhenAnswered.push(slow.filter((c) => !c.isClosed && c.statusLines().length === 0).length);
    }
    const responses = await Promise.all(slow.map((c) => c.response(60_000)));
    for (const response of responses) expectJsonError(response, 408, /REQUEST_BODY_TIMEOUT_MS/);
    await Promise.all(slow.map((c) => c.closed));
    // The pushes answered while the slow sockets were still held open (before their bound).
    expect(openWhenAnswered[0]).toBe(200);
    expect((await client.push([])).status).toBe(200);
  });

  it('does not cut an SSE stream, a WebSocket or a backup download that outlive the bound', async () => {
    const writer = await t.client('user-long', 'device-writer');
    const reader = await t.client('user-long', 'device-reader');
    // Incompressible rows, so the archive is larger than what socket buffers hold.
    for (let i = 0; i < 4; i++) {
      const big = randomBytes(1_500_000).toString('base64');
      const { status } = await writer.push([
        { table: 'blobs', id: `b${i}`, op: 'insert', data: { big } },
      ]);
      expect(status).toBe(200);
    }
    const stream = await reader.stream(['tasks']);
    const socket = await WsTestClient.authenticated(t.service.url, reader.token!, '/ws/todo');
    const download = await new Promise<import('http').IncomingMessage>((resolve, reject) => {
      const req = httpRequest(`${t.service.url}/backup/export`, {
        headers: { authorization: `Bearer ${reader.token}` },
      });
      req.on('response', resolve).on('error', reject).end();
    });
    expect(download.statusCode).toBe(200);
    download.pause();
    try {
      await stream.waitFor((events) => events.some((e) => e.event === 'changes'));
      await new Promise((resolve) => setTimeout(resolve, BOUND_MS * 2 + 1_000));

      // Still open: a push reaches the stream and the socket; the socket answers a ping.
      expect(
        (await writer.push([{ table: 'tasks', id: 'late', op: 'insert', data: {} }])).status,
      ).toBe(200);
      await stream.waitFor((events) =>
        events.some(
          (e) => e.event === 'changes' && e.data.changes.some((c: any) => c.id === 'late'),
        ),
      );
      await socket.waitFor((m) => m.type === 'sync-available');
      socket.send({ type: 'ping' });
      await socket.waitFor((m) => m.type === 'pong');

      // The download, read only now, is whole.
      const chunks: Buffer[] = [];
      download.resume();
      for await (const chunk of download) chunks.push(chunk as Buffer);
      const entries = await readZip(Buffer.concat(chunks));
      expect(entries.map((e) => e.name)).toEqual(['events.jsonl', 'manifest.json']);
      expect(JSON.parse(entries[1]!.data.toString()).eventCount).toBe(4);
    } finally {
      stream.close();
      socket.socket.close();
      download.destroy();
    }
  });
});
