import {
  ArgumentsHost,
  BadRequestException,
  ForbiddenException,
  NotFoundException,
  Catch,
  ExceptionFilter,
  HttpException,
  HttpStatus,
  Logger,
  UnauthorizedException,
  UnprocessableEntityException,
} from '@nestjs/common';
import { STATUS_CODES } from 'http';
import type { Response } from 'express';
import { isDatabaseUnavailable, isInvalidClientData, isRlsViolation } from './database-errors';
import { DomainError, UnavailableError } from './domain-errors';
import { DatabaseUnavailableError, ServiceUnavailableError } from './http-errors';

export interface ErrorBody {
  statusCode: number;
  error: string;
  message: string;
  [extra: string]: unknown;
}

/**
 * The one place errors become responses: `{statusCode, error, message}`,
 * database outages as 503, and never internal SQL or stack text to a client.
 */
@Catch()
export class HttpExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger('HttpExceptionFilter');

  catch(exception: unknown, host: ArgumentsHost): void {
    if (host.getType() !== 'http') return;
    const response = host.switchToHttp().getResponse<Response>();
    const error = this.normalize(exception);
    const body = toErrorBody(error);
    if (body.statusCode >= 500 && !(error instanceof ServiceUnavailableError)) {
      this.logger.error(
        exception instanceof Error ? (exception.stack ?? exception.message) : exception,
      );
    }
    if (response.headersSent) {
      response.destroy();
      return;
    }
    if (error instanceof ServiceUnavailableError) {
      response.setHeader('Retry-After', String(error.retryAfterSeconds));
    }
    response.status(body.statusCode).json(body);
  }

  private normalize(exception: unknown): HttpException {
    if (exception instanceof HttpException) return exception;
    if (exception instanceof DomainError) return httpExceptionOf(exception);
    if (isDatabaseUnavailable(exception)) return new DatabaseUnavailableError();
    if (isRlsViolation(exception)) {
      return new ForbiddenException('Row-level security refused this write');
    }
    if (isInvalidClientData(exception)) {
      return new BadRequestException(
        'The request holds a value the database cannot store (for example a \\u0000 character)',
      );
    }
    return new HttpException('Internal server error', HttpStatus.INTERNAL_SERVER_ERROR);
  }
}

/** A domain error as the HTTP answer of its kind, with its message. */
export function httpExceptionOf(error: DomainError): HttpException {
  const options = { cause: error };
  if (error instanceof UnavailableError) {
    return new ServiceUnavailableError(error.message, error.retryAfterSeconds, options);
  }
  switch (error.kind) {
    case 'invalid':
      return new BadRequestException(error.message, options);
    case 'unauthenticated':
      return new UnauthorizedException(error.message, options);
    case 'forbidden':
      return new ForbiddenException(error.message, options);
    case 'not-found':
      return new NotFoundException(error.message, options);
    case 'conflict':
      return new UnprocessableEntityException(error.message, options);
    default:
      return new ServiceUnavailableError(error.message, 5, options);
  }
}

export function toErrorBody(error: HttpException): ErrorBody {
  const statusCode = error.getStatus();
  const payload = error.getResponse();
  const standard = STATUS_CODES[statusCode] ?? 'Error';
  if (typeof payload === 'string') return { statusCode, error: standard, message: payload };
  const { message, error: name, ...extra } = payload as Record<string, unknown>;
  return {
    ...extra,
    statusCode,
    error: typeof name === 'string' ? name : standard,
    message: Array.isArray(message) ? message.join('; ') : String(message ?? standard),
  };
}
