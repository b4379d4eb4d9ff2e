import { CallHandler, ExecutionContext, Injectable, NestInterceptor } from '@nestjs/common';
import { from, lastValueFrom, Observable } from 'rxjs';
import { AuthenticatedRequest, requestUser } from '../auth/authenticated-user';
import { RlsTransactionRunner } from '../store/rls-transaction.runner';

/**
 * Wraps a request handler in the caller's RLS transaction. The handler's
 * result is emitted only after COMMIT returned, so the response is written
 * after the changes are durable; any error rolls back and no partial write stays.
 */
@Injectable()
export class RlsTransactionInterceptor implements NestInterceptor {
  constructor(private readonly runner: RlsTransactionRunner) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const user = requestUser(context.switchToHttp().getRequest<AuthenticatedRequest>());
    // The transaction is the handler's alone: it may send COMMIT with its last statements.
    return from(
      this.runner.runAsUser(user, () => lastValueFrom(next.handle(), { defaultValue: undefined }), {
        commitEarly: true,
      }),
    );
  }
}
