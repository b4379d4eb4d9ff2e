/**
 * Rules and limits of the wire protocol that more than one entry point checks (push, pull,
 * socket, archive); wire-validators.ts has them as class-validator decorators for the DTOs.
 */

/** An app id (`:appId`, `/ws/<appId>`): a short name of letters, digits, `.`, `_`, `-`. */
export const APP_ID_PATTERN = '^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$';
export const APP_ID_RULE = 'appId must be 1-100 letters, digits, ".", "_" or "-"';
const APP_ID = new RegExp(APP_ID_PATTERN);

export function isAppId(value: string): boolean {
  return APP_ID.test(value);
}

/** Longest string fields of a change (characters). */
export const MAX_TABLE_LENGTH = 200;
export const MAX_RECORD_ID_LENGTH = 500;
export const MAX_EVENT_ID_LENGTH = 200;
export const MAX_SPACE_ID_LENGTH = 200;
export const MAX_ORIGIN_LENGTH = 100;
export const MAX_CLIENT_ID_LENGTH = 200;

/** The largest JSON request body. */
export const MAX_BODY_BYTES = 10 * 1024 * 1024;
export const MAX_BODY_TEXT = '10 MB';

/**
 * A UUID in any case, as clients write them. Whoever stores one stores it
 * lower-cased (PostgreSQL's own `uuid` output), so a push and an archive of the
 * same event name the same row.
 */
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isUuid(value: string): boolean {
  return UUID.test(value);
}

/**
 * ISO-8601 with a `T`, seconds and fraction optional (clients in the field send
 * `2024-01-01T10:00Z`), and a `Z` or an offset.
 */
const ISO_TIME =
  /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(?:Z|[+-](\d{2}):?(\d{2}))$/;
/** PostgreSQL refuses offsets beyond ±15:59. */
const MAX_OFFSET_HOURS = 15;

/**
 * An ISO-8601 time whose every field is in range, as PostgreSQL's timestamptz
 * reads it: Date.parse rolls `2024-02-30` over into March and takes offsets up
 * to 23:59, where PostgreSQL refuses both.
 */
export function isIsoTime(value: string): boolean {
  const m = ISO_TIME.exec(value);
  if (!m) return false;
  const [year, month, day, hour, minute, second = 0, offsetHours = 0, offsetMinutes = 0] = m
    .slice(1)
    .map((part) => (part === undefined ? undefined : Number(part)));
  const leap = year! % 4 === 0 && (year! % 100 !== 0 || year! % 400 === 0);
  const days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month! - 1];
  if (days === undefined || day! < 1 || day! > days) return false;
  if (hour! > 23 || minute! > 59 || second > 59) return false;
  return offsetHours <= MAX_OFFSET_HOURS && offsetMinutes <= 59;
}
