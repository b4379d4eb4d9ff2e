import { randomUUID } from 'crypto';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { Level, LevelWithSilent, Logger } from 'pino';
import type { AuthenticatedRequest } from '../auth/authenticated-user';
import { routeOf } from '../metrics/http-metrics.middleware';
import { RequestLog, requestLogContext } from './request-log-context';

export const REQUEST_ID_HEADER = 'X-Request-Id';

/** An incoming id is kept only if it is short and plain (it ends up in logs and headers). */
const ACCEPTED_REQUEST_ID = /^[A-Za-z0-9._:/@+=-]{1,128}$/;

/**
 * Routes polled by load balancers and Prometheus: their successes are logged at debug only, and
 * so are readiness' 503s, whose outage ReadinessService tells once as it starts and ends.
 */
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
 *
 * Written by hand rather than with pino-http: one line and one listener per request,
 * and the request's child logger (for logs made while handling it) is only built
 * when something logs.
 * nestjs-pino is not used for the same reason: it runs on pino-http (its CPU cost is
 * measured in docs/performance.md).
 */
export function requestLoggingMiddleware(root: Logger): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    const start = performance.now();
    const requestId = requestIdOf(req.headers['x-request-id']);
    res.setHeader(REQUEST_ID_HEADER, requestId);
    let done = false;
    const finish = (): void => {
      if (done) return;
      done = true;
      res.off('finish', finish).off('close', finish);
      const level = levelOf(req, res.statusCode);
      if (!root.isLevelEnabled(level)) return;
      root[level](
        {
          requestId,
          method: req.method,
          url: req.originalUrl,
          route: routeOf(req),
          status: res.statusCode,
          durationMs: Math.round((performance.now() - start) * 1000) / 1000,
          userId: (req as AuthenticatedRequest).user?.userId,
          appId: typeof req.params?.appId === 'string' ? req.params.appId : undefined,
          // The client went away before the response was complete (or a stream was closed).
          aborted: res.writableFinished ? undefined : true,
        },
        res.statusCode >= 500 ? 'request failed' : 'request completed',
      );
    };
    res.on('finish', finish).on('close', finish);
    requestLogContext.run(new RequestLog(root, requestId), next);
  };
}

function levelOf(req: Request, status: number): LevelWithSilent & Level {
  const polled = POLLED_ROUTE.test(req.path);
  if (polled && (status < 400 || status === 503)) return 'debug';
  if (status >= 500) return 'warn';
  return 'info';
}
