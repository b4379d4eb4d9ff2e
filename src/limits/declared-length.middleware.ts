import { PayloadTooLargeException } from '@nestjs/common';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { IncomingMessage, Server, ServerResponse } from 'http';
import { toErrorBody } from '../common/errors/http-exception.filter';

/** The largest body a request may declare, and the message of its 413. */
export interface BodyLimit {
  bytes: number;
  message: string;
}

const EXPECTS_CONTINUE = /(^|,)\s*100-continue\s*(,|$)/i;

/**
 * Refuses with 413 a request whose Content-Length is over its limit, before a
 * byte of the body is read, and closes the connection. Stricter than
 * body-parser, which checks the same header but then reads the whole body
 * before answering (a client declaring 600 MB and sending nothing held the
 * socket until the request timeout).
 *
 * A client that waits for `100 Continue` gets it only here, once the length is
 * within the limit (see `answerExpectContinueInMiddleware`), so it never sends
 * a body that would be refused.
 */
export function declaredLengthLimit(limitOf: (req: Request) => BodyLimit): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    const declared = req.headers['content-length'];
    const limit = declared === undefined ? undefined : limitOf(req);
    if (limit !== undefined && Number(declared) > limit.bytes) {
      const error = new PayloadTooLargeException(limit.message);
      res.setHeader('Connection', 'close');
      res.status(error.getStatus()).json(toErrorBody(error));
      return;
    }
    if (req.httpVersion === '1.1' && EXPECTS_CONTINUE.test(req.headers.expect ?? '')) {
      res.writeContinue();
    }
    next();
  };
}

/**
 * Node answers `Expect: 100-continue` by itself before any middleware runs;
 * this leaves the answer to `declaredLengthLimit`.
 */
export function answerExpectContinueInMiddleware(server: Server): void {
  server.on('checkContinue', (req: IncomingMessage, res: ServerResponse) =>
    server.emit('request', req, res),
  );
}
