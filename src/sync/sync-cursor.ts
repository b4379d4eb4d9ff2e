import { InvalidInputError } from '../common/errors/domain-errors';
import { isIsoTime } from '../common/wire-rules';
import { LogPosition, START } from '../store/log-position';

/**
 * The sync cursor (`syncedUntil` / `since`), see docs/cursor.md.
 *
 * Wire form: `YYYY-MM-DDTHH:mm:ss.SSS` + 19-digit tx id + 19-digit seq + `Z`,
 * i.e. an ISO-8601 UTC time with a long fraction. The time part only keeps
 * the string increasing for clients that compare cursors as strings; the
 * digits are the log position the next read continues after.
 */
export interface SyncCursor {
  position: LogPosition;
  /** Milliseconds of the time part; never decreases along one client's cursors. */
  timeMs: number;
  /** A plain ISO time given as `since` (Go-era cursor): only rows created after it. */
  createdAfter?: string;
}

const DIGITS = 19;
const CURSOR = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3})(\d{19})(\d{19})Z$/;
/** The last millisecond a 4-digit year can write: later times would format as `+010000-…`. */
const MAX_TIME_MS = Date.UTC(9999, 11, 31, 23, 59, 59, 999);
const MAX_BIGINT = 2n ** 63n - 1n;

export const EPOCH_CURSOR = '1970-01-01T00:00:00.000Z';

/** A `since` that is neither one of our cursors nor an ISO-8601 time (400). */
export class InvalidCursorError extends InvalidInputError {}

/** Parses `since`: one of our cursors, or any ISO-8601 time (the web client starts at the epoch). */
export function parseSince(since: string | undefined): SyncCursor {
  if (since === undefined || since === '') return { position: START, timeMs: 0 };
  const cursor = CURSOR.exec(since);
  if (cursor) {
    const timeMs = isIsoTime(`${cursor[1]}Z`) ? Date.parse(`${cursor[1]}Z`) : NaN;
    const txId = BigInt(cursor[2]);
    const seq = BigInt(cursor[3]);
    if (Number.isNaN(timeMs) || txId > MAX_BIGINT || seq > MAX_BIGINT) {
      throw new InvalidCursorError(`since is not a valid cursor: ${since}`);
    }
    return { position: { txId, seq }, timeMs };
  }
  const timeMs = isIsoTime(since) ? Date.parse(since) : NaN;
  if (Number.isNaN(timeMs)) {
    throw new InvalidCursorError(`since must be a cursor or an ISO-8601 time, got "${since}"`);
  }
  if (timeMs <= 0) return { position: START, timeMs: 0 };
  // +1 ms: our cursor for the same millisecond must sort after the longer original string.
  return { position: START, timeMs: Math.min(timeMs + 1, MAX_TIME_MS), createdAfter: since };
}

export function formatCursor(position: LogPosition, timeMs: number): string {
  const time = new Date(Math.min(timeMs, MAX_TIME_MS)).toISOString().slice(0, 23);
  return `${time}${pad(position.txId)}${pad(position.seq)}Z`;
}

export function comparePositions(a: LogPosition, b: LogPosition): number {
  if (a.txId !== b.txId) return a.txId < b.txId ? -1 : 1;
  if (a.seq !== b.seq) return a.seq < b.seq ? -1 : 1;
  return 0;
}

/**
 * The cursor after a page. A full page continues after its last row; a
 * partial page has returned every row below the horizon, so the next read
 * starts at the horizon (skipping nothing: no row below it can still appear).
 */
export function nextCursor(
  since: SyncCursor,
  page: { last?: LogPosition; full: boolean; horizon: bigint },
  nowMs: number,
): string {
  let position = since.position;
  const reached = page.full ? page.last! : { txId: page.horizon, seq: 0n };
  if (comparePositions(reached, position) > 0) position = reached;
  return formatCursor(position, Math.max(nowMs, since.timeMs));
}

function pad(value: bigint): string {
  return value.toString().padStart(DIGITS, '0');
}
