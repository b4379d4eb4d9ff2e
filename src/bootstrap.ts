import {
  BadRequestException,
  HttpException,
  HttpStatus,
  INestApplication,
  LoggerService,
  LogLevel,
  PayloadTooLargeException,
} from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { NestExpressApplication } from '@nestjs/platform-express';
import type { NextFunction, Request, Response } from 'express';
import { json } from 'express';
import helmet from 'helmet';
import type { Server } from 'http';
import type { DestinationStream } from 'pino';
import { AppExtensions, AppModule } from './app.module';
import { AppConfig } from './config/app-config';
import { HttpExceptionFilter, toErrorBody } from './common/errors/http-exception.filter';
import { quietFrameworkLogs } from './framework-log-filter';
import { wellFormedQuery } from './common/query-text.middleware';
import { AppValidationPipe } from './common/validation.pipe';
import { MAX_BODY_BYTES, MAX_BODY_TEXT } from './common/wire-rules';
import { attachBodySource, keepBodySource } from './common/body-source';
import { collectAfterLargeRequests } from './common/large-request-gc';
import {
  answerExpectContinueInMiddleware,
  BodyLimit,
  declaredLengthLimit,
} from './limits/declared-length.middleware';
import { boundRequestReading } from './limits/request-read-timeout';
import { PinoNestLogger } from './logging/pino-nest-logger';
import { REQUEST_ID_HEADER, requestLoggingMiddleware } from './logging/request-logging.middleware';
import { createRootLogger, pinoLevelOf } from './logging/root-logger';
import { httpMetricsMiddleware } from './metrics/http-metrics.middleware';
import { MetricsService } from './metrics/metrics.service';
import { setupOpenApi } from './openapi-document';
import { RealtimeWsAdapter } from './realtime/realtime-ws.adapter';

export interface CreateAppOptions extends AppExtensions {
  /**
   * Nest-style levels: the most verbose one sets pino's level (`['error']`
   * keeps tests quiet), `false` silences; unset, LOG_LEVEL decides. A
   * LoggerService takes Nest's own logs instead of pino.
   */
  logger?: LoggerService | LogLevel[] | false;
  /** Where the JSON log lines go (default stdout); tests pass a stream to read them. */
  logDestination?: DestinationStream;
}

/** Builds the service exactly as `npm start` runs it; e2e tests use the same function. */
export async function createApp(
  config: AppConfig,
  options: CreateAppOptions = {},
): Promise<INestApplication> {
  const rootLogger = createRootLogger({
    level: pinoLevelOf(options.logger, config.logging.level),
    destination: options.logDestination,
  });
  const custom = typeof options.logger === 'object' && !Array.isArray(options.logger);
  const app = await NestFactory.create<NestExpressApplication>(AppModule.forRoot(config, options), {
    bodyParser: false,
    abortOnError: false,
    logger: custom ? options.logger : quietFrameworkLogs(new PinoNestLogger(rootLogger)),
  });
  // Express hashes every response body for an ETag; sync answers are never revalidated.
  app.set('etag', false);
  const server = app.getHttpServer() as Server;
  app.use(boundRequestReading(server, config.http.requestBodyTimeoutMs));
  // Frees what bodies and answers of megabytes leave behind before the heap grows to hold it.
  app.use(collectAfterLargeRequests());
  // Early, so every request (body-parser errors included) gets an id, a log line and a timing.
  app.use(requestLoggingMiddleware(rootLogger), httpMetricsMiddleware(app.get(MetricsService)));
  app.use(
    helmet({
      // The API is called from the apps' own origins; /docs is also served over plain http in development.
      crossOriginResourcePolicy: { policy: 'cross-origin' },
      contentSecurityPolicy: { directives: { upgradeInsecureRequests: null } },
    }),
  );
  // Before the body: a request refused for its query is not made to send it.
  app.use(wellFormedQuery());
  answerExpectContinueInMiddleware(server);
  app.use(
    declaredLengthLimit(bodyLimitOf(config)),
    json({ limit: MAX_BODY_BYTES, verify: keepBodySource }),
    attachBodySource,
    bodyErrorHandler,
  );
  app.enableCors({
    origin:
      config.http.corsOrigins.length === 0 || config.http.corsOrigins.includes('*')
        ? true
        : config.http.corsOrigins,
    credentials: true,
    exposedHeaders: ['Retry-After', REQUEST_ID_HEADER],
  });
  app.useGlobalPipes(new AppValidationPipe());
  app.useGlobalFilters(new HttpExceptionFilter());
  app.useWebSocketAdapter(new RealtimeWsAdapter(app));
  setupOpenApi(app);
  return app;
}

const JSON_BODY: BodyLimit = {
  bytes: MAX_BODY_BYTES,
  message: `Request body exceeds ${MAX_BODY_TEXT}`,
};

/**
 * The body limit of a request: `POST /backup/import` takes an archive of up to
 * BACKUP_IMPORT_MAX_BYTES; every other body is JSON (express.json's limit).
 */
function bodyLimitOf(config: AppConfig): (req: Request) => BodyLimit {
  const archive: BodyLimit = {
    bytes: config.backup.importMaxBytes,
    message: `The archive exceeds ${config.backup.importMaxBytes} bytes (BACKUP_IMPORT_MAX_BYTES)`,
  };
  // Matched as Express routes match: any case, an optional trailing slash.
  const importPath = /^\/backup\/import\/?$/i;
  return (req) =>
    req.method === 'POST' && importPath.test(req.path) && !req.is('application/json')
      ? archive
      : JSON_BODY;
}

/** Body-parser errors happen before Nest's routing; shape them like every other error. */
function bodyErrorHandler(
  error: Error & { type?: string },
  _req: Request,
  res: Response,
  next: NextFunction,
): void {
  if (!error) return next();
  // The request was cut (REQUEST_BODY_TIMEOUT_MS) and has had its answer already.
  if (res.headersSent) return;
  let http: HttpException;
  if (error.type === 'entity.too.large') {
    http = new PayloadTooLargeException(`Request body exceeds ${MAX_BODY_TEXT}`);
  } else if (error.type === 'entity.parse.failed') {
    http = new BadRequestException('Request body is not valid JSON');
  } else {
    http = new HttpException('Unreadable request body', HttpStatus.BAD_REQUEST);
  }
  res.status(http.getStatus()).json(toErrorBody(http));
}
