import { Inject, Injectable, Logger } from '@nestjs/common';
import { DataSource } from 'typeorm';
import type { PostgresQueryRunner } from 'typeorm/driver/postgres/PostgresQueryRunner';
import { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { RlsScope, TransactionHost } from './transaction-host';

/**
 * The first statement of every user-data transaction: the unprivileged role and the
 * caller's scope, transaction-local ($1 role, $2 user id, $3 comma-separated space ids).
 *
 * RLS ANDs an OR of two policies into every query, which the planner cannot estimate: it
 * then reads all of a user's rows (bitmap or sequential scan) and sorts them, where a page
 * needs an ordered index scan that stops after LIMIT rows. These transactions only run such
 * index-shaped statements, so the three plan types are discouraged for them alone. That
 * inflates plan costs past jit_above_cost, and JIT compiling a millisecond query costs
 * hundreds of milliseconds: it is off too.
 */
export const RLS_SCOPE_SQL = `SELECT set_config('role', $1, true),
       set_config('app.current_user_id', $2, true),
       set_config('app.current_user_space_ids', $3, true),
       set_config('enable_bitmapscan', 'off', true),
       set_config('enable_seqscan', 'off', true),
       set_config('enable_sort', 'off', true),
       set_config('jit', 'off', true)`;

/** Drops ids that would widen or corrupt the comma-separated membership setting. */
export function cleanSpaceIds(spaceIds: readonly string[]): string[] {
  return [...new Set(spaceIds.filter((id) => id !== '' && !id.includes(',')))];
}

/**
 * The one way into user data: a transaction that runs as the unprivileged RLS
 * role with the caller's user id and space memberships set transaction-locally.
 * Commits when `fn` resolves, rolls back when it throws, always releases.
 */
@Injectable()
export class RlsTransactionRunner {
  private readonly logger = new Logger('RlsTransaction');

  constructor(
    private readonly dataSource: DataSource,
    private readonly host: TransactionHost,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async runAsUser<T>(scope: RlsScope, fn: () => Promise<T>): Promise<T> {
    if (!scope.userId) throw new Error('runAsUser: empty user id');
    const spaceIds = cleanSpaceIds(scope.spaceIds);
    const queryRunner = this.dataSource.createQueryRunner() as PostgresQueryRunner;
    let broken: Error | undefined;
    try {
      await queryRunner.startTransaction();
      await queryRunner.query(RLS_SCOPE_SQL, [
        this.config.rlsRole,
        scope.userId,
        spaceIds.join(','),
      ]);
      const { result, afterCommit } = await this.host.run(
        queryRunner.manager,
        { userId: scope.userId, spaceIds },
        fn,
      );
      await queryRunner.commitTransaction();
      this.runAfterCommit(afterCommit);
      return result;
    } catch (error) {
      if (queryRunner.isTransactionActive) {
        await queryRunner.rollbackTransaction().catch((rollbackError: Error) => {
          broken = rollbackError;
        });
      }
      throw error;
    } finally {
      // A connection whose rollback failed may still be inside a transaction: hand the error to
      // pg-pool (TypeORM keeps that overload private) so it destroys the connection.
      await queryRunner['releasePostgresConnection'](broken);
    }
  }

  /** The changes are durable by now: a failing callback is logged, never turned into an error. */
  private runAfterCommit(callbacks: (() => void)[]): void {
    for (const callback of callbacks) {
      try {
        callback();
      } catch (error) {
        this.logger.error(
          `after-commit callback failed: ${error instanceof Error ? error.message : error}`,
        );
      }
    }
  }
}
