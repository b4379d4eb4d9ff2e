import { HttpException } from '@nestjs/common';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { Server } from 'http';
import { STATUS_CODES } from 'http';
import type { Socket } from 'net';
import { toErrorBody } from '../common/errors/http-exception.filter';

/** What Node's default 'clientError' answer would be, by error code (else 400). */
const CLIENT_ERROR_STATUS: Record<string, number> = {
  ERR_HTTP_REQUEST_TIMEOUT: 408,
  HPE_HEADER_OVERFLOW: 431,
  HPE_CHUNK_EXTENSIONS_OVERFLOW: 413,
};

/**
 * Bounds how long a request's headers and body may take to arrive, with
 * Node's own `requestTimeout` and `headersTimeout`: a client that sends slowly
 * (or declares a body and never sends it) is cut after `timeoutMs` with 408 and
 * the connection closed, whatever the route. The clock stops once the request
 * is complete, so SSE streams, WebSocket upgrades and downloads, however long
 * their answers take, are never cut by it.
 *
 * Node's own answer to such a client is a bare status line; this one is the
 * service's JSON error, and when the request had reached Express it goes
 * through its response, so the request log line and the metrics count the 408.
 * Returns the middleware that remembers which response a connection is serving;
 * mount it first.
 */
export function boundRequestReading(server: Server, timeoutMs: number): RequestHandler {
  server.requestTimeout = timeoutMs;
  server.headersTimeout = timeoutMs;
  // Node checks for expired requests every 30 s by default (a 1 s bound would act after 31 s).
  // A createServer option, read when the server starts listening (Node 20.6+).
  (server as Server & { connectionsCheckingInterval: number }).connectionsCheckingInterval =
    Math.min(1_000, Math.ceil(timeoutMs / 4));

  const serving = new WeakMap<Socket, Response>();
  server.on('clientError', (error: Error & { code?: string }, socket: Socket) => {
    const status = CLIENT_ERROR_STATUS[error.code ?? ''] ?? 400;
    const message =
      status === 408
        ? `The request did not arrive within ${timeoutMs} ms (REQUEST_BODY_TIMEOUT_MS)`
        : `The request could not be read (${error.code ?? error.message})`;
    const body = toErrorBody(new HttpException(message, status));
    // The connection's last request that reached Express, unless its answer is complete.
    const last = serving.get(socket);
    const res = last && !last.writableFinished ? last : undefined;
    if (error.code === 'ECONNRESET' || !socket.writable) {
      socket.destroy();
    } else if (res && !res.headersSent) {
      // Closed once the answer is out; the rest of the body is never read.
      res.once('finish', () => socket.destroy());
      res.setHeader('Connection', 'close');
      res.status(status).json(body);
    } else if (res) {
      socket.destroy();
    } else {
      // The headers never completed: no request, no response object to answer with.
      const text = JSON.stringify(body);
      socket.end(
        `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json; charset=utf-8\r\n` +
          `Content-Length: ${Buffer.byteLength(text)}\r\nConnection: close\r\n\r\n${text}`,
        () => socket.destroy(),
      );
    }
  });

  return (req: Request, res: Response, next: NextFunction) => {
    serving.set(req.socket, res);
    next();
  };
}
