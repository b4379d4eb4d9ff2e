import { BadRequestException } from '@nestjs/common';
import { isUuid } from '../common/wire-rules';
import { NewChange } from '../store/change.repository';
import { ChangeDto, FieldChange } from './dto/change.dto';

export interface PushContext {
  appId: string;
  clientId: string;
  /** The changeset's schema version, already defaulted. */
  schemaVersion: number;
  maxSchemaVersion: number;
}

function reject(index: number, field: string, message: string): never {
  throw new BadRequestException(`changes[${index}].${field} ${message}`);
}

/** Resolves a schema version: missing, null or 0 means the fallback; above what we support is refused. */
export function schemaVersionOf(
  value: number | null | undefined,
  fallback: number,
  max: number,
  where: string,
): number {
  const version = value === undefined || value === null || value === 0 ? fallback : value;
  if (version > max) {
    throw new BadRequestException(`${where} ${version} is not supported (max ${max})`);
  }
  return version;
}

/** A wire change as a row to store: insert keeps data, update splits fields into values and times, delete keeps deletedAt. */
export function toNewChange(change: ChangeDto, index: number, ctx: PushContext): NewChange {
  const schemaVersion = schemaVersionOf(
    change.schemaVersion,
    ctx.schemaVersion,
    ctx.maxSchemaVersion,
    `changes[${index}].schemaVersion`,
  );
  const split = change.fields ? splitFields(change.fields, index) : undefined;
  let data: Record<string, unknown>;
  let fieldMeta: Record<string, string> = {};
  switch (change.op) {
    case 'insert':
      data = change.data ?? split?.values ?? reject(index, 'data', 'is required for insert');
      fieldMeta = split?.times ?? {};
      break;
    case 'update':
      data = split?.values ?? change.data ?? reject(index, 'fields', 'is required for update');
      fieldMeta = split?.times ?? {};
      break;
    case 'delete':
      // Without deletedAt it stays a hard delete on the way out, as in mana-sync: the client removes the record.
      data = change.deletedAt === undefined ? {} : { deletedAt: change.deletedAt };
      break;
  }
  return {
    id: change.eventId && isUuid(change.eventId) ? change.eventId.toLowerCase() : undefined,
    appId: ctx.appId,
    tableName: change.table,
    recordId: change.id,
    spaceId: spaceIdOf(change, index),
    op: change.op,
    data,
    fieldMeta,
    clientId: ctx.clientId,
    schemaVersion,
    actor: change.actor ?? null,
    origin: change.origin ?? null,
  };
}

function splitFields(
  fields: Record<string, FieldChange>,
  index: number,
): { values: Record<string, unknown>; times: Record<string, string> } {
  const values: Record<string, unknown> = {};
  const times: Record<string, string> = {};
  for (const [name, field] of Object.entries(fields)) {
    if (
      field === null ||
      typeof field !== 'object' ||
      Array.isArray(field) ||
      !('value' in field)
    ) {
      reject(index, `fields.${name}`, 'must be an object {value, at}');
    }
    const at = field.at ?? field.updatedAt;
    if (at !== undefined && (typeof at !== 'string' || Number.isNaN(Date.parse(at)))) {
      reject(index, `fields.${name}.at`, 'must be an ISO-8601 time');
    }
    values[name] = field.value;
    if (at !== undefined) times[name] = at;
  }
  return { values, times };
}

/** spaceId, else data.spaceId, else fields.spaceId.value. */
function spaceIdOf(change: ChangeDto, index: number): string | null {
  const candidate = change.spaceId ?? change.data?.spaceId ?? change.fields?.spaceId?.value;
  if (candidate === undefined || candidate === null || candidate === '') return null;
  if (typeof candidate !== 'string') reject(index, 'spaceId', 'must be a string');
  return candidate;
}
