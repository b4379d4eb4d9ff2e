import { Injectable } from '@nestjs/common';
import { TransactionHost } from './transaction-host';

export interface IdempotencyRecord {
  requestHash: string;
  /** The answer as JSON text; null only while the first request is still in flight (never after it committed). */
  response: string | null;
}

/** Stored answers of pushes with an Idempotency-Key; runs in the caller's RLS transaction. */
@Injectable()
export class IdempotencyRepository {
  constructor(private readonly tx: TransactionHost) {}

  /**
   * Claims `key` for this request. Returns undefined when claimed now, else the
   * earlier request's record. A concurrent request with the same key waits on
   * the unique index until the first one commits or rolls back.
   */
  async claim(key: string, requestHash: string): Promise<IdempotencyRecord | undefined> {
    const { userId } = this.tx.scope;
    const claimed = (await this.tx.query(
      `INSERT INTO sync_idempotency_keys (user_id, key, request_hash) VALUES ($1, $2, $3)
       ON CONFLICT (user_id, key) DO NOTHING
       RETURNING 1`,
      [userId, key, requestHash],
    )) as unknown[];
    if (claimed.length > 0) return undefined;
    const [record] = (await this.tx.query(
      `SELECT request_hash AS "requestHash", response::text AS response FROM sync_idempotency_keys
        WHERE user_id = $1 AND key = $2`,
      [userId, key],
    )) as IdempotencyRecord[];
    return record;
  }

  /** `response`: the answer's JSON text. */
  async saveResponse(key: string, response: string): Promise<void> {
    await this.tx.query(
      `UPDATE sync_idempotency_keys SET response = $3 WHERE user_id = $1 AND key = $2`,
      [this.tx.scope.userId, key, response],
    );
  }
}
