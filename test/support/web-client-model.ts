/**
 * A model of how the Mana web client merges server changes into one local
 * record: `applyServerChanges` in apps/mana/apps/web/src/lib/data/sync.ts of
 * the public repository Memo-2023/managarten, branch by branch (delete first,
 * then insert, then update with fields), fed with the server's projection of a
 * stored row (`toServerChange`). Values and field times are kept exactly, with
 * JavaScript's own comparisons, so odd times behave as they do in a browser.
 */
import { toServerChange } from './wire-projection';
import type { ChangeRow } from '../../src/store/change-columns';

const FIELD_META_KEY = '__fieldMeta';
const USER_ACTOR = { kind: 'user' };

export interface FieldMeta {
  at: unknown;
  actor: unknown;
}

/** A local record: its values and the per-field metadata; undefined = not on the device. */
export interface LocalRecord {
  values: Record<string, unknown>;
  meta: Record<string, FieldMeta>;
}

/** A stored row of the model log (the columns the projection reads). */
export interface ModelRow {
  userId: string;
  spaceId: string | null;
  op: string;
  data: unknown;
  fieldMeta: Record<string, unknown>;
  createdAt: string;
  actor: unknown;
}

type Wire = ReturnType<typeof toServerChange> & Record<string, unknown>;

const projected = new WeakMap<ModelRow, Wire>();

/** The server's projection of a row (memoized: a row object is never changed). */
export function project(row: ModelRow, recordId: string): Wire {
  let wire = projected.get(row);
  if (!wire) projected.set(row, (wire = projectRow(row, recordId)));
  return wire;
}

function projectRow(row: ModelRow, recordId: string): Wire {
  return toServerChange({
    id: '00000000-0000-4000-8000-000000000000',
    schemaVersion: 1,
    tableName: 'notes',
    recordId,
    op: row.op,
    data: row.data,
    fieldMeta: row.fieldMeta,
    createdAt: row.createdAt,
    spaceId: row.spaceId,
    actor: row.actor,
    origin: null,
  } as unknown as ChangeRow) as Wire;
}

function ge(a: unknown, b: unknown): boolean {
  return (a as string) >= (b as string);
}

/** One server change applied to the record; `now` is the receiving device's clock. */
export function applyChange(
  record: LocalRecord | undefined,
  change: Wire,
  now: string,
): LocalRecord | undefined {
  const actor = change.actor ?? USER_ACTOR;
  if (change.deletedAt || change.op === 'delete') {
    if (!record) return record;
    if (change.deletedAt) {
      const local = record.meta.deletedAt?.at ?? record.values.deletedAt ?? '';
      if (ge(change.deletedAt, local)) {
        return {
          values: { ...record.values, deletedAt: change.deletedAt },
          meta: { ...record.meta, deletedAt: { at: change.deletedAt, actor } },
        };
      }
      return record;
    }
    return undefined;
  }
  if (change.op === 'insert') {
    const data = (change.data ?? change) as Record<string, unknown>;
    const time = data.updatedAt ?? data.createdAt ?? now;
    if (!record) {
      const meta: Record<string, FieldMeta> = {};
      for (const key of Object.keys(data)) {
        if (key === 'id' || key === FIELD_META_KEY) continue;
        meta[key] = { at: time, actor };
      }
      const values = { ...data };
      delete values[FIELD_META_KEY];
      delete values.id;
      return { values, meta };
    }
    const values = { ...record.values };
    const meta = { ...record.meta };
    for (const [key, value] of Object.entries(data)) {
      if (key === 'id' || key === FIELD_META_KEY) continue;
      if (ge(time, record.meta[key]?.at ?? '')) {
        values[key] = value;
        meta[key] = { at: time, actor };
      }
    }
    return { values, meta };
  }
  if (change.op === 'update' && change.fields) {
    const fields = change.fields as Record<string, { value: unknown; at?: unknown }>;
    if (!record) {
      const values: Record<string, unknown> = {};
      const meta: Record<string, FieldMeta> = {};
      for (const [key, field] of Object.entries(fields)) {
        values[key] = field.value;
        meta[key] = { at: field.at ?? now, actor };
      }
      return { values, meta };
    }
    const values = { ...record.values };
    const meta = { ...record.meta };
    for (const [key, field] of Object.entries(fields)) {
      const at = field.at ?? '';
      if (ge(at, record.meta[key]?.at ?? '')) {
        values[key] = field.value;
        meta[key] = { at, actor };
      }
    }
    return { values, meta };
  }
  return record;
}

export function applyAll(
  start: LocalRecord | undefined,
  rows: readonly ModelRow[],
  recordId: string,
  now: string,
): LocalRecord | undefined {
  let record = start;
  for (const row of rows) record = applyChange(record, project(row, recordId), now);
  return record;
}

/** A stable text form of a local record, for comparing two devices. */
export function stateKey(record: LocalRecord | undefined): string {
  if (!record) return 'missing';
  const sorted = (o: Record<string, unknown>) =>
    Object.keys(o)
      .sort()
      .map((k) => [k, o[k]]);
  return JSON.stringify([sorted(record.values), sorted(record.meta as Record<string, unknown>)]);
}
