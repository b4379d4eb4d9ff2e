import { Injectable } from '@nestjs/common';
import { createHash } from 'crypto';
import { ConflictError } from '../common/errors/domain-errors';
import { SyncConfig } from '../config/app-config';
import { AuthenticatedUser } from '../auth/authenticated-user';
import { assertMayWriteSpaces } from '../spaces/space-write.policy';
import { ChangeLog } from '../store/change-log';
import { ChangeRepository, InsertedBatch } from '../store/change.repository';
import { IdempotencyRepository } from '../store/idempotency.repository';
import { TransactionHost } from '../store/transaction-host';
import { JsonText } from '../common/json-text';
import { PushChangeset } from './change-mapper';
import { SyncMetrics } from './sync.metrics';
import { nextCursor, SyncCursor } from './sync-cursor';
import { PageReadPlan, pullKey } from './page-read-plan';
import { syncResponseText, WirePage } from './wire-page';

/** An Idempotency-Key sent again with another request (422). */
export class IdempotencyKeyReusedError extends ConflictError {
  constructor() {
    super('Idempotency-Key was already used for a different request');
  }
}

export interface ReadRequest {
  appId: string;
  /** One collection, or all tables of the app. */
  table?: string;
  since: SyncCursor;
  clientId?: string;
}

export interface ReadResult {
  page: WirePage;
  horizon: bigint;
}

/**
 * The sync protocol's rules. Runs inside the caller's RLS transaction (the
 * interceptor's, or a stream's short one): repositories find it there.
 */
@Injectable()
export class SyncService {
  constructor(
    private readonly changes: ChangeRepository,
    private readonly idempotency: IdempotencyRepository,
    private readonly log: ChangeLog,
    private readonly config: SyncConfig,
    private readonly metrics: SyncMetrics,
    private readonly tx: TransactionHost,
  ) {}

  private readonly readPlan = new PageReadPlan();

  /** Stores a changeset all-or-nothing, then answers with other clients' changes since `since`. */
  async push(
    appId: string,
    clientId: string,
    changeset: PushChangeset,
    user: AuthenticatedUser,
    idempotencyKey?: string,
  ): Promise<JsonText> {
    const { since, body, rows } = changeset;
    for (const row of rows) {
      row.appId = appId;
      row.clientId = clientId;
    }
    // Everything is checked before anything is written.
    assertMayWriteSpaces(
      user,
      rows.map((r) => r.spaceId),
    );
    // The scopes of the rows are claimed with BEGIN, before the key's insert gives the
    // transaction an id (docs/cursor.md).
    if (rows.length > 0) this.log.claim(rows);
    // The first statement: until here no connection is held.
    if (idempotencyKey !== undefined) {
      const replay = await this.replayOf(idempotencyKey, { appId, clientId, body });
      if (replay) return replay;
    }
    // The insert, the answer's page (below the horizon the insert read) and, unless the
    // answer is still to be stored, COMMIT leave together: one round trip.
    const stored = rows.length > 0 ? this.log.append(rows) : undefined;
    // A prepared statement: a push's answer is mostly a few rows, where a COPY's planning
    // would cost more than it saves.
    const reading = this.read(
      { appId, since, clientId },
      { horizon: stored?.then((s) => s.horizon) },
    );
    if (idempotencyKey === undefined) this.tx.commitNow();
    const [inserted, { page }] = await Promise.all([stored, reading]);
    if (inserted) this.countStored(appId, inserted);
    const response = syncResponseText(page);
    if (idempotencyKey !== undefined) {
      const saved = this.idempotency.saveResponse(idempotencyKey, response.toString());
      this.tx.commitNow();
      await saved;
    }
    return response;
  }

  /** Counted once durable: a rolled-back push stored nothing; a retry of stored ids, nothing new. */
  private countStored(appId: string, stored: InsertedBatch): void {
    if (stored.inserted > 0) {
      this.tx.afterCommit(() => this.metrics.changesStored(appId, stored.ops));
    }
  }

  /**
   * The stored answer of an earlier push with this key, or undefined when the
   * key is new (and now claimed by this push, in its transaction).
   */
  private async replayOf(key: string, request: unknown): Promise<JsonText | undefined> {
    const hash = createHash('sha256').update(JSON.stringify(request)).digest('hex');
    const earlier = await this.idempotency.claim(key, hash);
    if (!earlier) return undefined;
    if (earlier.requestHash !== hash || !earlier.response) {
      throw new IdempotencyKeyReusedError();
    }
    return new JsonText(earlier.response, [], '');
  }

  /** One page of changes of one collection since `since`. */
  async pull(
    appId: string,
    collection: string,
    since: SyncCursor,
    clientId?: string,
  ): Promise<JsonText> {
    const key = pullKey(this.tx.scope.userId, appId, collection, clientId);
    const reading = this.read(
      { appId, table: collection, since, clientId },
      { copy: this.readPlan.byCopy(key, since) },
    );
    // The horizon, the page and COMMIT leave together: one round trip.
    this.tx.commitNow();
    const { page } = await reading;
    this.readPlan.read(key, page.hasMore);
    this.metrics.pulled(appId, page.count);
    return syncResponseText(page);
  }

  /**
   * One page after a cursor, with the horizon it was read at (streams use it to wait for
   * writers). `horizon`: being read by a statement of this transaction sent before (a
   * push's insert); else the read sends one itself, in the same round trip as the page.
   * `copy`: read by COPY, for pages that may be large (a catch-up's pulls, see PageReadPlan;
   * a stream's catch-up); see ChangesSinceQuery.copy.
   */
  async read(
    request: ReadRequest,
    { horizon, copy }: { horizon?: Promise<bigint>; copy?: boolean } = {},
  ): Promise<ReadResult> {
    const limit = this.config.pageSize;
    const page = await this.changes.changesSince({
      appId: request.appId,
      tableName: request.table,
      after: request.since.position,
      createdAfter: request.since.createdAfter,
      excludeClientId: request.clientId,
      limit: limit + 1,
      maxBytes: this.config.pageMaxBytes,
      horizon,
      copy,
    });
    const full = page.rows.length > limit || page.truncated;
    const count = Math.min(page.rows.length, limit);
    const lastRow = page.rows[count - 1];
    const last = lastRow && { txId: BigInt(lastRow.txId), seq: BigInt(lastRow.seq) };
    return {
      page: {
        changes: page.wire(count),
        count,
        syncedUntil: nextCursor(request.since, { last, full, horizon: page.horizon }, Date.now()),
        hasMore: full,
      },
      horizon: page.horizon,
    };
  }
}
