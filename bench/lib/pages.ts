import type { ClientBase } from 'pg';
import type { HorizonMode } from '../../src/config/env.dto';
import type { LogPosition } from '../../src/store/log-position';
import { HttpClient } from './http';
import { userTransaction } from './raw';
import { APP_ID } from './records';
import { rawRepository } from './repository';
import { nowMs } from './stats';

/** Rows per page: the service's default SYNC_PAGE_SIZE. */
export const PAGE = 1000;
/** The service's default SYNC_PAGE_MAX_BYTES, so the reference runs the same statement. */
export const PAGE_BYTES = 4 * 1024 * 1024;

export interface ServicePages {
  /** Latency of each page, request sent to body read. */
  pageMs: number[];
  /** Event ids of the changes, in the order received. */
  eventIds: string[];
  /** Length of the response texts. */
  bytes: number;
  /** The last page's syncedUntil: where the next pull starts. */
  cursor: string;
}

/** Pulls `collection` over HTTP from `since`, page by page, following syncedUntil while hasMore. */
export async function pullPages(
  http: HttpClient,
  reader: { token: string; clientId: string },
  collection: string,
  since: string,
  maxPages: number,
): Promise<ServicePages> {
  const result: ServicePages = { pageMs: [], eventIds: [], bytes: 0, cursor: since };
  for (let page = 0; page < maxPages; page++) {
    const t0 = nowMs();
    const { status, body, bytes } = await http.json(
      'GET',
      `/sync/${APP_ID}/pull?collection=${collection}&since=${result.cursor}`,
      reader,
    );
    result.pageMs.push(nowMs() - t0);
    if (status !== 200) throw new Error(`pull → ${status} ${JSON.stringify(body).slice(0, 300)}`);
    for (const change of body.serverChanges) result.eventIds.push(change.eventId);
    result.bytes += bytes;
    result.cursor = body.syncedUntil;
    if (!body.hasMore) break;
  }
  return result;
}

export interface RawPages {
  pageMs: number[];
  rows: number;
  /** Where the next read starts: after the last full page's last row, or the horizon. */
  after: LogPosition;
}

/**
 * The same pages raw over `pg`: the service's ChangeRepository.changesSince (its horizon
 * statement and its page statement) with set_config in one transaction per page, pg decoding
 * every row. `horizon`: the horizon mode of the service compared against.
 */
export async function rawPages(
  client: ClientBase,
  rlsRole: string,
  reader: { userId: string; clientId: string },
  collection: string,
  after: LogPosition,
  maxPages: number,
  horizon?: HorizonMode,
): Promise<RawPages> {
  const repository = rawRepository(client, reader.userId, undefined, horizon);
  const result: RawPages = { pageMs: [], rows: 0, after };
  for (let page = 0; page < maxPages; page++) {
    const t0 = nowMs();
    const read = await userTransaction(client, rlsRole, reader.userId, () =>
      repository.changesSince({
        appId: APP_ID,
        tableName: collection,
        after: result.after,
        excludeClientId: reader.clientId,
        limit: PAGE + 1,
        maxBytes: PAGE_BYTES,
      }),
    );
    result.pageMs.push(nowMs() - t0);
    const kept = read.rows.slice(0, PAGE);
    result.rows += kept.length;
    if (read.rows.length <= PAGE) {
      // A partial page: everything below the horizon was read, as the service's cursor says.
      result.after = { txId: read.horizon, seq: 0n };
      break;
    }
    const last = kept[kept.length - 1];
    result.after = { txId: BigInt(last.txId), seq: BigInt(last.seq) };
  }
  return result;
}
