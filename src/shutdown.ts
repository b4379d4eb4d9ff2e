import { INestApplication, Logger } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';
import type { Server } from 'http';
import { errorMessage } from './common/error-message';

/**
 * On SIGTERM/SIGINT: stop accepting connections, let in-flight requests
 * finish (at most `timeoutMs`), end streams and sockets, close the pool, exit 0.
 * Nest's enableShutdownHooks() would re-raise the signal and exit non-zero.
 * Call before `listen()`: it installs the middleware that turns requests
 * arriving during the drain away.
 */
export function closeGracefullyOnSignals(app: INestApplication, timeoutMs: number): void {
  const logger = new Logger('Shutdown');
  let closing = false;

  // A request that arrives on a kept-alive connection after the signal is not
  // in flight: 503 and close, so the client retries on another instance.
  app.use((_req: Request, res: Response, next: NextFunction) => {
    if (!closing) return next();
    res.setHeader('Connection', 'close');
    res.setHeader('Retry-After', '1');
    res
      .status(503)
      .json({ statusCode: 503, error: 'Service Unavailable', message: 'Shutting down' });
  });

  const shutdown = (signal: NodeJS.Signals): void => {
    if (closing) return;
    closing = true;
    logger.log(`${signal} received: draining (at most ${timeoutMs} ms)`);
    const server = app.getHttpServer() as Server;
    // Connections go idle as their last response is sent; close them then.
    const sweep = setInterval(() => server.closeIdleConnections(), 50);
    const deadline = setTimeout(() => {
      // Requests cut here roll back whole: their transaction never commits.
      logger.warn('Shutdown timeout reached: closing the remaining connections');
      server.closeAllConnections();
    }, timeoutMs);
    app.close().then(
      () => {
        clearInterval(sweep);
        clearTimeout(deadline);
        logger.log('Shut down cleanly');
        process.exit(0);
      },
      (error: unknown) => {
        logger.error(`Shutdown failed: ${errorMessage(error)}`);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
}
