import { HttpException, HttpStatus } from '@nestjs/common';

/** Typed exceptions of this service; the exception filter turns each into `{statusCode, error, message}`. */
export class ServiceUnavailableError extends HttpException {
  constructor(
    message: string,
    readonly retryAfterSeconds = 5,
    options?: { cause?: unknown },
  ) {
    super(message, HttpStatus.SERVICE_UNAVAILABLE, options);
  }
}

/**
 * No connection could be had, or the one in use died: the database is down or refusing.
 * The client reads only the fixed text; logs and callers also see the cause's.
 */
export class DatabaseUnavailableError extends ServiceUnavailableError {
  constructor(options?: { cause?: unknown }) {
    super('The database is unavailable, please retry shortly', 5, options);
    const cause = options?.cause;
    if (cause instanceof Error) this.message = `${this.message} (${cause.message})`;
  }
}
