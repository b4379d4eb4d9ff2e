import { IsNotEmpty, IsOptional, IsString, ValidateBy } from 'class-validator';
import { isJsonObject } from '../common/json-bounds';
import { isIsoTime } from '../common/wire-rules';
import {
  IsAnyCaseUuid,
  IsAppId,
  IsChangeOp,
  IsOrigin,
  IsRecordId,
  IsSchemaVersion,
  IsSpaceId,
  IsTableName,
} from '../common/wire-validators';
import type { ChangeOp } from '../common/change-op';

/** The span to_char's `YYYY` writes with four digits: what the export can write back exactly. */
const FIRST_TIME_MS = Date.parse('0001-01-01T00:00:00Z');
const LAST_TIME_MS = Date.parse('9999-12-31T23:59:59Z');

/**
 * A time PostgreSQL stores as given and the export writes back exactly: a real
 * calendar date (JavaScript's Date.parse takes 30 February), an offset within
 * PostgreSQL's range, years 1 to 9999.
 */
export function isStorableTime(value: string): boolean {
  if (!isIsoTime(value)) return false;
  const ms = Date.parse(value);
  return ms >= FIRST_TIME_MS && ms <= LAST_TIME_MS;
}

/** An archive-only rule: a predicate and the message that names its field. */
function Archived(
  name: string,
  validate: (value: unknown) => boolean,
  message: string,
): PropertyDecorator {
  return ValidateBy({ name, validator: { validate, defaultMessage: () => message } });
}

/**
 * One line of events.jsonl (docs/backup.md). The rules a push change has too
 * (table, id, op, spaceId, origin, schemaVersion) are the shared decorators of
 * ChangeDto; the rest is what only a stored row has: an eventId, an app id, a
 * creation time, field times.
 */
export class BackupEventDto {
  @IsAnyCaseUuid()
  eventId!: string;

  /** From 1: the stored, resolved version (a push's 0 means "the default"); the max is checked by the reader. */
  @IsSchemaVersion()
  schemaVersion!: number;

  @IsAppId({ message: 'appId is not a valid app id' })
  appId!: string;

  @IsTableName()
  table!: string;

  @IsRecordId()
  id!: string;

  @IsChangeOp()
  op!: ChangeOp;

  /** Present: null or an object (bounded by json-bounds before this runs, never walked here). */
  @Archived(
    'isObjectOrNull',
    (v) => v === null || isJsonObject(v),
    'data must be an object or null',
  )
  data!: Record<string, unknown> | null;

  @IsOptional()
  @Archived(
    'isFieldTimes',
    (v) => isJsonObject(v) && Object.values(v).every((at) => typeof at === 'string'),
    'fieldMeta must map field names to times',
  )
  fieldMeta?: Record<string, string> | null;

  /** Not empty: a push's "" means "no space" and is stored as null. */
  @IsOptional()
  @IsSpaceId()
  @IsNotEmpty()
  spaceId?: string | null;

  actor?: unknown;

  @IsOptional()
  @IsOrigin()
  origin?: string | null;

  /** Any string: a push's X-Client-Id header has no length rule of its own. */
  @IsString()
  clientId!: string;

  @Archived(
    'isStorableTime',
    (v) => typeof v === 'string' && isStorableTime(v),
    'createdAt must be an ISO-8601 time from year 1 to 9999',
  )
  createdAt!: string;
}

const KEYS = [
  'eventId',
  'schemaVersion',
  'appId',
  'table',
  'id',
  'op',
  'data',
  'fieldMeta',
  'spaceId',
  'actor',
  'origin',
  'clientId',
  'createdAt',
] as const;

/**
 * The line's fields copied into a DTO instance, without a transformer: `data`,
 * `fieldMeta` and `actor` are handed over as they are, not walked. Other keys
 * are left out.
 */
export function toBackupEventDto(line: Record<string, unknown>): BackupEventDto {
  const dto = new BackupEventDto() as unknown as Record<string, unknown>;
  for (const key of KEYS) dto[key] = line[key];
  return dto as unknown as BackupEventDto;
}
