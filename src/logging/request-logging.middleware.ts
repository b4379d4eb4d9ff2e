import { randomUUID } from 'crypto';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { LevelWithSilent, Logger } from 'pino';
import { pinoHttp } from 'pino-http';
import type { AuthenticatedRequest } from '../auth/authenticated-user';
import { routeOf } from '../metrics/http-metrics.middleware';
import { requestLogContext } from './request-log-context';

export const REQUEST_ID_HEADER = 'X-Request-Id';

/** An incoming id is kept only if it is short and plain (it ends up in logs and headers). */
const ACCEPTED_REQUEST_ID = /^[A-Za-z0-9._:/@+=-]{1,128}$/;

/** Routes polled by load balancers and Prometheus: their successes are logged at debug only. */
const POLLED_ROUTE = /^\/(health|metrics)(\/|$)/;

export function requestIdOf(header: string | string[] | undefined): string {
  const incoming = Array.isArray(header) ? header[0] : header;
  return incoming && ACCEPTED_REQUEST_ID.test(incoming) ? incoming : randomUUID();
}

/**
 * One line per request when its response ends: request id (echoed in
 * X-Request-Id), method, route, status, duration, user and app. Headers and
 * bodies are not logged at all, so no token, service key or record content
 * can appear in it.
 */
export function requestLoggingMiddleware(root: Logger): RequestHandler {
  const summary = (req: Request, res: Response, durationMs: number): Record<string, unknown> => ({
    method: req.method,
    url: req.originalUrl,
    route: routeOf(req),
    status: res.statusCode,
    durationMs,
    userId: (req as AuthenticatedRequest).user?.userId,
    appId: typeof req.params?.appId === 'string' ? req.params.appId : undefined,
    // The client went away before the response was complete (or a stream was closed).
    aborted: res.writableFinished ? undefined : true,
  });

  const httpLogger = pinoHttp<Request, Response>({
    logger: root,
    genReqId: (req, res) => {
      const id = requestIdOf(req.headers['x-request-id']);
      res.setHeader(REQUEST_ID_HEADER, id);
      return id;
    },
    quietReqLogger: true,
    quietResLogger: true,
    customAttributeKeys: { reqId: 'requestId', responseTime: 'durationMs' },
    customLogLevel: (req, res): LevelWithSilent => {
      if (res.statusCode >= 500) return 'warn';
      return POLLED_ROUTE.test(req.path) && res.statusCode < 400 ? 'debug' : 'info';
    },
    customSuccessMessage: () => 'request completed',
    customErrorMessage: () => 'request failed',
    customSuccessObject: (req, res, value: { durationMs: number }) =>
      summary(req, res, value.durationMs),
    // The exception filter logs real errors; pino-http's stand-in "failed with status" error is noise.
    customErrorObject: (req, res, _error, value: { durationMs: number }) =>
      summary(req, res, value.durationMs),
  });

  return (req: Request, res: Response, next: NextFunction) => {
    httpLogger(req, res, () => requestLogContext.run(req.log, next));
  };
}
