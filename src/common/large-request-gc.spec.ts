import { createServer, request, type Server } from 'http';
import type { AddressInfo } from 'net';
import type { Request, Response } from 'express';
import {
  collectAfterLargeRequests,
  COLLECT_AFTER_BYTES,
  exposedGc,
  LARGE_REQUEST_BYTES,
} from './large-request-gc';

describe('collectAfterLargeRequests', () => {
  let server: Server;
  let port: number;
  const collections: string[] = [];

  beforeAll(async () => {
    const middleware = collectAfterLargeRequests((options) => collections.push(options.type));
    server = createServer((req, res) => {
      middleware(req as Request, res as unknown as Response, () => {
        req.resume();
        req.on('end', () => res.end(Buffer.alloc(Number(req.headers['x-answer-bytes'] ?? 0))));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });

  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const send = (bodyBytes: number, answerBytes = 0) =>
    new Promise<void>((resolve, reject) => {
      const req = request(
        { port, method: 'POST', headers: { 'x-answer-bytes': String(answerBytes) } },
        (res) => {
          res.resume();
          res.on('end', () => setImmediate(resolve));
        },
      );
      req.on('error', reject);
      req.end(Buffer.alloc(bodyBytes));
    });

  it('collects once large bodies and answers add up to the bound, never for small ones', async () => {
    const small = LARGE_REQUEST_BYTES / 2;
    for (let i = 0; i < (2 * COLLECT_AFTER_BYTES) / small; i++) await send(small, small - 1);
    expect(collections).toEqual([]);
    // Each a little under its size in bytes counted: the first read of a body may come before.
    const large = Math.ceil(COLLECT_AFTER_BYTES * 0.3);
    await send(large);
    await send(large);
    await send(0, large);
    expect(collections).toEqual([]);
    await send(large);
    expect(collections).toEqual(['major']);
    await send(large);
    expect(collections).toEqual(['major']);
  });

  it('finds V8’s gc without --expose-gc on the command line, and it runs', () => {
    const gc = exposedGc();
    expect(typeof gc).toBe('function');
    expect(() => gc!({ type: 'major', execution: 'sync' })).not.toThrow();
  });
});
