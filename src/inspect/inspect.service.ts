import { Injectable } from '@nestjs/common';
import { NotFoundError } from '../common/errors/domain-errors';
import { AuthenticatedUser } from '../auth/authenticated-user';
import { SocketRegistry } from '../realtime/socket-registry';
import { formatCursor } from '../sync/sync-cursor';
import { SyncStreamService } from '../sync/sync-stream.service';
import { DeviceRecord, HistoryEntry, replayRecord } from './device-merge';
import type {
  DeviceDto,
  HistoryChangeDto,
  InspectAppsResponse,
  InspectChangeTimesResponse,
  InspectDevicesResponse,
  InspectHistoryResponse,
  InspectRecordsResponse,
} from './dto/inspect-response.dto';
import { InspectRepository } from './inspect.repository';

/** Collections listed at most; a user with more sees the first ones and `truncated`. */
const MAX_COLLECTIONS = 1000;
/** A records page stops adding records past this many change rows (it always takes one). */
const PAGE_MAX_ROWS = 20_000;
const DEFAULT_PAGE = 50;

/**
 * The inspector's rules: what a user's devices hold (the client's merge replayed on the
 * rows the user can read), a record's history with the fate of each write, and the
 * user's open connections. Every read runs in the request's RLS transaction.
 */
@Injectable()
export class InspectService {
  constructor(
    private readonly repository: InspectRepository,
    private readonly sockets: SocketRegistry,
    private readonly streams: SyncStreamService,
  ) {}

  async apps(user: AuthenticatedUser): Promise<InspectAppsResponse> {
    const horizon = await this.repository.horizon();
    const rows = await this.repository.collections(MAX_COLLECTIONS + 1);
    const apps = new Map<string, InspectAppsResponse['apps'][number]>();
    for (const row of rows.slice(0, MAX_COLLECTIONS)) {
      let app = apps.get(row.appId);
      if (!app) apps.set(row.appId, (app = { appId: row.appId, collections: [] }));
      app.collections.push({
        name: row.collection,
        rows: row.rows,
        records: row.records,
        lastChangeAt: row.lastChangeAt,
        spaces: row.spaces,
      });
    }
    const now = Date.now();
    return {
      userId: user.userId,
      spaceIds: user.spaceIds,
      serverTime: new Date(now).toISOString(),
      // Every row below the horizon is final: a stream from there misses nothing later.
      liveCursor: formatCursor({ txId: horizon, seq: 0n }, now),
      apps: [...apps.values()],
      truncated: rows.length > MAX_COLLECTIONS,
    };
  }

  async records(
    appId: string,
    collection: string,
    after: string | undefined,
    limit = DEFAULT_PAGE,
  ): Promise<InspectRecordsResponse> {
    const candidates = await this.repository.recordsAfter(appId, collection, after, limit + 1);
    const chosen: string[] = [];
    let rows = 0;
    for (const candidate of candidates.slice(0, limit)) {
      if (chosen.length > 0 && rows + candidate.rows > PAGE_MAX_ROWS) break;
      chosen.push(candidate.recordId);
      rows += candidate.rows;
    }
    const changes = await this.repository.changesOf(appId, collection, chosen);
    const now = new Date().toISOString();
    const records = chosen.map((id) => replayRecord(id, changes.get(id) ?? [], now).record);
    return {
      records,
      nextAfter: candidates.length > chosen.length ? chosen[chosen.length - 1] : null,
    };
  }

  async history(
    appId: string,
    collection: string,
    recordId: string,
  ): Promise<InspectHistoryResponse> {
    const changes = (await this.repository.changesOf(appId, collection, [recordId])).get(recordId)!;
    const compaction = await this.repository.removals(appId, collection, recordId);
    if (changes.length === 0 && compaction.rowsRemoved === 0) {
      // The same answer whether it never existed or belongs to someone else.
      throw new NotFoundError(`No record "${recordId}" in ${appId}/${collection}`);
    }
    const { record, history } = replayRecord(recordId, changes, new Date().toISOString());
    return {
      record: record satisfies DeviceRecord,
      changes: history.map(toHistoryChange),
      compaction,
    };
  }

  async changeTimes(appId: string, eventIds: string[]): Promise<InspectChangeTimesResponse> {
    const changes = await this.repository.changeTimes(appId, eventIds);
    return { serverTime: new Date().toISOString(), changes };
  }

  /** The user's own sockets and streams on this instance (no database involved). */
  devices(user: AuthenticatedUser): InspectDevicesResponse {
    const iso = (ms: number | undefined): string => new Date(ms ?? Date.now()).toISOString();
    const devices: DeviceDto[] = [
      ...this.sockets.sessionsOf(user.userId).map((s) => ({
        kind: 'websocket',
        appId: s.appId ?? null,
        clientId: s.clientId ?? null,
        since: iso(s.connectedAt),
      })),
      ...this.streams.streamsOf(user.userId).map((s) => ({
        kind: 'sse',
        appId: s.appId,
        clientId: s.clientId ?? null,
        since: iso(s.openedAt),
        collections: s.collections,
      })),
    ];
    devices.sort((a, b) => a.since.localeCompare(b.since));
    return { userId: user.userId, devices };
  }
}

function toHistoryChange(entry: HistoryEntry): HistoryChangeDto {
  const { change } = entry;
  return {
    eventId: change.eventId,
    position: `${change.txId}.${change.seq}`,
    createdAt: change.createdAt,
    clientId: change.clientId,
    userId: change.userId,
    spaceId: change.spaceId,
    actor: change.actor,
    origin: change.origin,
    op: change.wire.op,
    kind: entry.kind,
    creates: entry.creates,
    ...(entry.ignored !== undefined ? { ignored: entry.ignored } : {}),
    writes: entry.writes,
  };
}
