import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import type { PostgresQueryRunner } from 'typeorm/driver/postgres/PostgresQueryRunner';
import { CompactionConfig } from '../config/app-config';
import { releasePostgresConnection } from '../store/driver-internals';
import { CompactionRepository } from './compaction.repository';

/** Any fixed 64-bit number, the same on every instance: one pass at a time. */
const COMPACTION_LOCK_KEY = 7_316_245_901_442_012n;

/** A pass's connection: short transactions as the compaction role, one after the other. */
export interface CompactionSession {
  /** One batch: commits when `fn` resolves (rolls back with `commit: false`), rolls back when it throws. */
  batch<T>(fn: (repository: CompactionRepository) => Promise<T>, commit?: boolean): Promise<T>;
}

/**
 * Owns the connection of a compaction pass: holds the advisory lock on it for the
 * pass, and runs each batch as its own transaction under the compaction role, with
 * the batch's statement and lock timeouts.
 */
@Injectable()
export class CompactionRunner {
  constructor(
    private readonly dataSource: DataSource,
    private readonly config: CompactionConfig,
  ) {}

  /** Runs `fn` holding the lock; resolves to `undefined` when another pass holds it. */
  async withLock<T>(fn: (session: CompactionSession) => Promise<T>): Promise<T | undefined> {
    const queryRunner = this.dataSource.createQueryRunner() as PostgresQueryRunner;
    let locked = false;
    let broken: Error | undefined;
    try {
      const [row] = (await queryRunner.query('SELECT pg_try_advisory_lock($1) AS locked', [
        COMPACTION_LOCK_KEY.toString(),
      ])) as { locked: boolean }[];
      locked = row.locked;
      if (!locked) return undefined;
      const repository = new CompactionRepository(queryRunner);
      const { role, batchTimeoutMs } = this.config;
      const session: CompactionSession = {
        batch: async (batchFn, commit = true) => {
          await queryRunner.startTransaction();
          try {
            await queryRunner.query(
              `SELECT set_config('role', $1, true),
                      set_config('statement_timeout', $2, true),
                      set_config('lock_timeout', $2, true)`,
              [role, String(batchTimeoutMs)],
            );
            const result = await batchFn(repository);
            if (commit) await queryRunner.commitTransaction();
            else await queryRunner.rollbackTransaction();
            return result;
          } catch (error) {
            if (queryRunner.isTransactionActive) {
              await queryRunner.rollbackTransaction().catch((rollbackError: Error) => {
                broken = rollbackError;
              });
            }
            throw error;
          }
        },
      };
      return await fn(session);
    } finally {
      if (locked && !broken) {
        await queryRunner
          .query('SELECT pg_advisory_unlock($1)', [COMPACTION_LOCK_KEY.toString()])
          .catch((error: Error) => {
            broken = error;
          });
      }
      // A connection that failed to roll back or unlock is destroyed, which also frees the lock.
      await releasePostgresConnection(queryRunner, broken);
    }
  }
}
