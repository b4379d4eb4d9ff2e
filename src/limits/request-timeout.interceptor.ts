import {
  CallHandler,
  ExecutionContext,
  Injectable,
  NestInterceptor,
  SetMetadata,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { Observable, throwError, timeout } from 'rxjs';
import { ServiceUnavailableError } from '../common/errors/http-errors';
import { HttpConfig } from '../config/app-config';

const NO_REQUEST_TIMEOUT = Symbol('noRequestTimeout');

/** Long-lived routes (streams, exports, imports) opt out of REQUEST_TIMEOUT_MS. */
export const NoRequestTimeout = (): MethodDecorator & ClassDecorator =>
  SetMetadata(NO_REQUEST_TIMEOUT, true);

/**
 * Answers 503 (with Retry-After) when a handler has not produced its result
 * within REQUEST_TIMEOUT_MS. The handler is not cancelled: a push may still
 * commit after the 503, which is why clients retry with the same eventIds.
 */
@Injectable()
export class RequestTimeoutInterceptor implements NestInterceptor {
  constructor(
    private readonly reflector: Reflector,
    private readonly http: HttpConfig,
  ) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const ms = this.http.requestTimeoutMs;
    if (ms <= 0 || context.getType() !== 'http' || this.exempt(context)) return next.handle();
    return next.handle().pipe(
      timeout({
        first: ms,
        with: () =>
          throwError(() => new ServiceUnavailableError(`Request timed out after ${ms} ms`)),
      }),
    );
  }

  private exempt(context: ExecutionContext): boolean {
    return (
      this.reflector.getAllAndOverride<boolean>(NO_REQUEST_TIMEOUT, [
        context.getHandler(),
        context.getClass(),
      ]) === true
    );
  }
}
