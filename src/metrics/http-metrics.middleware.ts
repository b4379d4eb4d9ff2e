import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { MetricsService } from './metrics.service';

/** The label of requests no route matched (404s, body-parser errors): never the raw URL. */
export const UNMATCHED_ROUTE = 'unmatched';

/** The route pattern Express matched (`/sync/:appId`), known once routing has happened. */
export function routeOf(req: Request): string | undefined {
  const path: unknown = req.route?.path;
  return typeof path === 'string' ? path : undefined;
}

/**
 * Times every request from its first byte to the end of its response (or the
 * client going away). Mounted before the body parser so 413s count too.
 */
export function httpMetricsMiddleware(metrics: MetricsService): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    const start = process.hrtime.bigint();
    let done = false;
    const record = (): void => {
      if (done) return;
      done = true;
      const seconds = Number(process.hrtime.bigint() - start) / 1e9;
      metrics.recordHttpRequest(
        req.method,
        routeOf(req) ?? UNMATCHED_ROUTE,
        res.statusCode,
        seconds,
      );
    };
    res.once('finish', record);
    res.once('close', record);
    next();
  };
}
