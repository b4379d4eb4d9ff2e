import { HttpException, HttpStatus } from '@nestjs/common';

/** Typed exceptions of this service; the exception filter turns each into `{statusCode, error, message}`. */
export class ServiceUnavailableError extends HttpException {
  constructor(
    message: string,
    readonly retryAfterSeconds = 5,
  ) {
    super(message, HttpStatus.SERVICE_UNAVAILABLE);
  }
}

export class DatabaseUnavailableError extends ServiceUnavailableError {
  constructor() {
    super('The database is unavailable, please retry shortly');
  }
}
