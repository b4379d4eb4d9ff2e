import { Injectable, Logger } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { DatabaseUnavailableError } from '../common/errors/http-errors';
import { DatabaseConfig } from '../config/app-config';
import { RlsSession, scopeStatement } from './rls-session';
import { RlsScope, TransactionHost } from './transaction-host';
import { callEach } from '../common/call-each';

export { RLS_SCOPE_SQL } from './rls-session';

/** Drops ids that would widen or corrupt the comma-separated membership setting. */
export function cleanSpaceIds(spaceIds: readonly string[]): string[] {
  return [...new Set(spaceIds.filter((id) => id !== '' && !id.includes(',')))];
}

/**
 * The one way into user data: a transaction that runs as the unprivileged RLS
 * role with the caller's user id and space memberships set transaction-locally.
 * It takes its connection on its first statement (see RlsSession), commits when
 * `fn` resolves, rolls back when it throws, always releases.
 */
@Injectable()
export class RlsTransactionRunner {
  private readonly logger = new Logger('RlsTransaction');

  constructor(
    private readonly dataSource: DataSource,
    private readonly host: TransactionHost,
    private readonly config: DatabaseConfig,
  ) {}

  /**
   * `options.commitEarly`: `fn` may end the transaction with its last statements
   * (TransactionHost.commitNow), saving the round trip of COMMIT; for callers whose whole
   * transaction is `fn` (the request interceptor). Otherwise COMMIT follows `fn`, and a
   * caller can still fail and roll back after what `fn` did.
   */
  async runAsUser<T>(
    scope: RlsScope,
    fn: () => Promise<T>,
    options: { commitEarly?: boolean } = {},
  ): Promise<T> {
    if (!scope.userId) throw new Error('runAsUser: empty user id');
    const spaceIds = cleanSpaceIds(scope.spaceIds);
    const session = new RlsSession(
      this.dataSource,
      scopeStatement(this.config.rlsRole, scope.userId, spaceIds.join(',')),
      options.commitEarly,
    );
    let broken: Error | undefined;
    const afterCommit: (() => void)[] = [];
    try {
      const result = await this.host.run(
        session,
        { userId: scope.userId, spaceIds },
        afterCommit,
        fn,
      );
      await session.end(true);
      this.runAfterCommit(afterCommit);
      return result;
    } catch (error) {
      if (session.committing && !session.connectionLost) {
        // COMMIT left with the statements (commitNow) before the handler failed: if it
        // committed, what it stored is durable and its callbacks run; the error stands.
        await session.end(true).then(
          () => this.runAfterCommit(afterCommit),
          () => undefined,
        );
      } else if (session.begun && !session.connectionLost) {
        await session.end(false).catch((rollbackError: Error) => {
          broken = rollbackError;
        });
      }
      // Whatever failed on a connection that died (TypeORM's "already released" included)
      // failed because of the outage: the client retries.
      if (session.connectionLost && !(error instanceof DatabaseUnavailableError)) {
        throw new DatabaseUnavailableError({ cause: error });
      }
      throw error;
    } finally {
      // A connection whose rollback failed may still be inside a transaction: destroy it.
      await session.release(broken);
    }
  }

  /** The changes are durable by now: a failing callback is logged, never turned into an error. */
  private runAfterCommit(callbacks: (() => void)[]): void {
    callEach(callbacks, (callback) => callback(), this.logger, 'after-commit callback');
  }
}
