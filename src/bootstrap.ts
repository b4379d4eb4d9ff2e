import {
  BadRequestException,
  HttpException,
  HttpStatus,
  INestApplication,
  LoggerService,
  LogLevel,
  PayloadTooLargeException,
  ValidationPipe,
} from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { NestExpressApplication } from '@nestjs/platform-express';
import type { NextFunction, Request, Response } from 'express';
import { json } from 'express';
import { AppExtensions, AppModule } from './app.module';
import { AppConfig } from './config/app-config';
import { HttpExceptionFilter, toErrorBody } from './common/errors/http-exception.filter';
import { RealtimeWsAdapter } from './realtime/realtime-ws.adapter';

export const BODY_LIMIT = '10mb';

export interface CreateAppOptions extends AppExtensions {
  logger?: LoggerService | LogLevel[] | false;
}

/** Builds the service exactly as `npm start` runs it; e2e tests use the same function. */
export async function createApp(
  config: AppConfig,
  options: CreateAppOptions = {},
): Promise<INestApplication> {
  const app = await NestFactory.create<NestExpressApplication>(AppModule.forRoot(config, options), {
    bodyParser: false,
    abortOnError: false,
    logger: options.logger,
  });
  app.use(json({ limit: BODY_LIMIT }), bodyErrorHandler);
  app.enableCors({
    origin:
      config.corsOrigins.length === 0 || config.corsOrigins.includes('*')
        ? true
        : config.corsOrigins,
    credentials: true,
  });
  app.useGlobalPipes(new ValidationPipe({ whitelist: true, transform: true }));
  app.useGlobalFilters(new HttpExceptionFilter());
  app.useWebSocketAdapter(new RealtimeWsAdapter(app));
  return app;
}

/** Body-parser errors happen before Nest's routing; shape them like every other error. */
function bodyErrorHandler(
  error: Error & { type?: string },
  _req: Request,
  res: Response,
  next: NextFunction,
): void {
  if (!error) return next();
  let http: HttpException;
  if (error.type === 'entity.too.large') {
    http = new PayloadTooLargeException(`Request body exceeds ${BODY_LIMIT}`);
  } else if (error.type === 'entity.parse.failed') {
    http = new BadRequestException('Request body is not valid JSON');
  } else {
    http = new HttpException('Unreadable request body', HttpStatus.BAD_REQUEST);
  }
  res.status(http.getStatus()).json(toErrorBody(http));
}
