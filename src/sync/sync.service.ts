import { BadRequestException, Injectable, UnprocessableEntityException } from '@nestjs/common';
import { createHash } from 'crypto';
import { SyncConfig } from '../config/app-config';
import { AuthenticatedUser } from '../auth/authenticated-user';
import { MetricsService } from '../metrics/metrics.service';
import { ChangeBus } from '../realtime/change-bus';
import { assertMayWriteSpaces } from '../spaces/space-write.policy';
import { ChangeRepository, NewChange } from '../store/change.repository';
import { IdempotencyRepository } from '../store/idempotency.repository';
import { TransactionHost } from '../store/transaction-host';
import { JsonText } from '../common/json-text';
import { schemaVersionOf, toNewChange } from './change-mapper';
import { PushDto } from './dto/push.dto';
import { InvalidCursorError, nextCursor, parseSince, SyncCursor } from './sync-cursor';
import { syncResponseText, WirePage } from './wire-page';

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
    private readonly bus: ChangeBus,
    private readonly config: SyncConfig,
    private readonly metrics: MetricsService,
    private readonly tx: TransactionHost,
  ) {}

  /** Stores a changeset all-or-nothing, then answers with other clients' changes since `since`. */
  async push(
    appId: string,
    clientId: string,
    body: PushDto,
    user: AuthenticatedUser,
    idempotencyKey?: string,
  ): Promise<JsonText> {
    const since = cursorOf(body.since);
    const max = this.config.maxSchemaVersion;
    const ctx = {
      appId,
      clientId,
      schemaVersion: schemaVersionOf(body.schemaVersion, 1, max, 'schemaVersion'),
      maxSchemaVersion: max,
    };
    // Everything is checked before anything is written.
    const rows = body.changes.map((change, index) => toNewChange(change, index, ctx));
    assertMayWriteSpaces(
      user,
      rows.map((r) => r.spaceId),
    );
    // The first statement: until here no connection is held.
    if (idempotencyKey !== undefined) {
      const replay = await this.replayOf(idempotencyKey, { appId, clientId, body });
      if (replay) return replay;
    }
    const horizon = rows.length > 0 ? await this.store(rows, appId, clientId, user) : undefined;
    const { page } = await this.read({ appId, since, clientId }, horizon);
    const response = syncResponseText(page);
    if (idempotencyKey !== undefined) {
      await this.idempotency.saveResponse(idempotencyKey, response.toString());
    }
    return response;
  }

  /** Stores the rows, with the notification in the same statement; returns the horizon it read. */
  private async store(
    rows: NewChange[],
    appId: string,
    clientId: string,
    user: AuthenticatedUser,
  ): Promise<bigint> {
    const event = {
      appId,
      userId: user.userId,
      clientId,
      tables: [...new Set(rows.map((r) => r.tableName))],
      spaceIds: [...new Set(rows.flatMap((r) => (r.spaceId ? [r.spaceId] : [])))],
    };
    // One statement inserts, notifies other instances and reads the horizon for the page.
    const notification = this.bus.notificationFor(event);
    const { inserted, ops, txId, horizon } = await this.changes.insertBatch(rows, notification);
    // A retry whose eventIds are all stored already changed nothing: no count, no notification.
    if (inserted > 0) {
      // Counted only once durable: a rolled-back push stored nothing.
      this.tx.afterCommit(() => this.metrics.recordChangesStored(appId, ops));
      await this.bus.publishOnCommit({ ...event, txId: txId.toString() }, !!notification);
    }
    return horizon;
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
      throw new UnprocessableEntityException(
        'Idempotency-Key was already used for a different request',
      );
    }
    return new JsonText(earlier.response, [], '');
  }

  /** One page of changes of one collection since `since`. */
  async pull(
    appId: string,
    collection: string,
    since: string | undefined,
    clientId?: string,
  ): Promise<JsonText> {
    const { page } = await this.read({
      appId,
      table: collection,
      since: cursorOf(since),
      clientId,
    });
    this.metrics.recordPull(appId, page.changes.length);
    return syncResponseText(page);
  }

  /**
   * One page after a cursor, with the horizon it was read at (streams use it to wait for
   * writers). `horizon`: one read earlier in this transaction (a push's insert).
   */
  async read(request: ReadRequest, horizon?: bigint): Promise<ReadResult> {
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
    });
    const full = page.rows.length > limit || page.truncated;
    const rows = full ? page.rows.slice(0, limit) : page.rows;
    const lastRow = rows[rows.length - 1];
    const last = lastRow && { txId: BigInt(lastRow.txId), seq: BigInt(lastRow.seq) };
    return {
      page: {
        changes: rows.map((row) => row.wire),
        syncedUntil: nextCursor(request.since, { last, full, horizon: page.horizon }, Date.now()),
        hasMore: full,
      },
      horizon: page.horizon,
    };
  }
}

export function cursorOf(since: string | undefined): SyncCursor {
  try {
    return parseSince(since);
  } catch (error) {
    if (error instanceof InvalidCursorError) throw new BadRequestException(error.message);
    throw error;
  }
}
