/**
 * Which rows of one record's history no client needs (docs/compaction.md).
 *
 * Pure: it sees a record's rows in log order, reduced to what the web client's
 * merge reads (op, field names, field times), never their values.
 */

/** The facts of one stored row the rule needs; `data` and `fieldMeta` values are not needed. */
export interface StoredRowFacts {
  /** Who reads it: rows cover each other only within the same (user, space). */
  userId: string;
  spaceId: string | null;
  op: string;
  /** `jsonb_typeof(data)`, null when the column is NULL. */
  dataType: string | null;
  /** Keys of `data` when it is an object. */
  keys: readonly string[] | null;
  /** `data->'updatedAt'`, `data->'createdAt'`, `data->'deletedAt'` (undefined: absent). */
  updatedAt?: unknown;
  createdAt?: unknown;
  deletedAt?: unknown;
  /** `field_meta` (field name → time). */
  fieldMeta: unknown;
  /** Old enough and in scope (user filter): the rule may remove or strip it. */
  eligible: boolean;
}

/** How the web client applies a row (see `describe`). */
export type RowKind = 'creator' | 'soft-delete' | 'hard-delete' | 'opaque';

export interface RowEffect {
  kind: RowKind;
  /** Field → the time it is written with; only for rows whose every time is fixed. */
  writes: Map<string, string>;
  /** Every time is fixed by the row itself, none by the receiving device's clock. */
  fixed: boolean;
  /**
   * False for an insert whose record time is neither absent nor a string: the client
   * then compares a number (or object) with string times, which orders nothing.
   */
  orderable?: false;
}

export interface RecordVerdict {
  /** Indexes of rows to delete. */
  remove: number[];
  /** Index of an update row → the fields to strip from it. */
  strip: Map<number, string[]>;
}

/** Keys the client treats specially (record id, field metadata, its own sort index). */
const RESERVED_KEYS = new Set(['id', '__fieldMeta', '_updatedAtIndex']);

/**
 * A time is fixed when it is a string that the client (JavaScript: UTF-16 units) and the
 * SQL pass (the "C" collation: bytes) order alike: printable ASCII.
 */
export function isFixedTime(value: unknown): value is string {
  return typeof value === 'string' && /^[\x20-\x7e]*$/.test(value);
}

/**
 * What a row does on the client, from the server's projection (change-mapper):
 * - insert → `data`; the record time is `updatedAt ?? createdAt ?? device now`;
 *   every key but `id` is written with it.
 * - update → `fields` rebuilt from data + field_meta (the server fills a missing time
 *   with created_at; we still treat such a field as unfixed, as a client would
 *   without it).
 * - delete with a non-empty string `deletedAt` → soft delete: writes `deletedAt`
 *   at that time on an existing record, ignored on a missing one.
 * - any other delete → hard delete.
 */
export function describe(row: StoredRowFacts): RowEffect {
  const writes = new Map<string, string>();
  const opaque: RowEffect = { kind: 'opaque', writes, fixed: false };
  if (row.op === 'delete') {
    if (row.dataType === 'object' && typeof row.deletedAt === 'string' && row.deletedAt !== '') {
      const fixed = isFixedTime(row.deletedAt);
      if (fixed) writes.set('deletedAt', row.deletedAt);
      return { kind: 'soft-delete', writes, fixed };
    }
    return { kind: 'hard-delete', writes, fixed: true };
  }
  if (row.op !== 'insert' && row.op !== 'update') return opaque;
  // A non-object payload reaches the client as something it merges unpredictably.
  if (row.dataType !== 'object' || !row.keys) return { kind: 'creator', writes, fixed: false };
  if (row.op === 'insert') {
    const time = row.updatedAt ?? row.createdAt;
    if (time !== null && time !== undefined && typeof time !== 'string') {
      return { kind: 'creator', writes, fixed: false, orderable: false };
    }
    let fixed = isFixedTime(time);
    for (const key of row.keys) {
      if (key === 'id') continue;
      if (RESERVED_KEYS.has(key)) fixed = false;
      else if (fixed) writes.set(key, time as string);
    }
    if (!fixed) writes.clear();
    return { kind: 'creator', writes, fixed };
  }
  const meta =
    row.fieldMeta && typeof row.fieldMeta === 'object' && !Array.isArray(row.fieldMeta)
      ? (row.fieldMeta as Record<string, unknown>)
      : {};
  let fixed = true;
  for (const key of row.keys) {
    const at = Object.prototype.hasOwnProperty.call(meta, key) ? meta[key] : undefined;
    if (RESERVED_KEYS.has(key) || !isFixedTime(at)) fixed = false;
    else writes.set(key, at);
  }
  if (!fixed) writes.clear();
  return { kind: 'creator', writes, fixed };
}

/**
 * The rows of one record (same app, table and record id, every user and space),
 * in log order, all final (below the cursor horizon). A row is removed when
 *
 * 1. a later row of its group (same user and space) is a hard delete: whoever sees
 *    the row sees that delete after it, which drops the record and everything
 *    before it (the group's last hard delete itself always stays); or
 * 2. every field it writes is written again later in its group, by a row whose
 *    times are fixed, at a time at least as new (ties go to the later row), and,
 *    unless it is a soft delete (which never creates a record), the next row of the
 *    record in the whole log is of its group and creates the record at fixed
 *    times: so a device that lacked the record still gets it created, by that
 *    row, before anything else of the record reaches it.
 *
 * Rows with a time set by the receiving device's clock are never removed and
 * never cover another; a record with a time that is not a string keeps every row. Surviving update rows lose the fields covered as in 2.
 */
export function judgeRecord(rows: readonly StoredRowFacts[]): RecordVerdict {
  const effects = rows.map(describe);
  const remove: number[] = [];
  const strip = new Map<number, string[]>();
  // Field-level last-writer-wins needs times that compare; one that does not can make any row matter.
  if (effects.some((effect) => effect.orderable === false)) return { remove, strip };
  const groups = rows.map((row) => `${row.userId}\u0000${row.spaceId ?? '\u0001'}`);
  // Walking backwards: per group, whether a hard delete follows, and the newest later time per field.
  const hardLater = new Set<string>();
  const newestLater = new Map<string, Map<string, string>>();
  for (let i = rows.length - 1; i >= 0; i--) {
    const effect = effects[i];
    const group = groups[i];
    let newest = newestLater.get(group);
    if (!newest) newestLater.set(group, (newest = new Map()));
    if (rows[i].eligible && effect.fixed && effect.kind !== 'opaque') {
      const covered = [...effect.writes].filter(([field, time]) => {
        const later = newest.get(field);
        return later !== undefined && later >= time;
      });
      const allCovered = covered.length === effect.writes.size;
      const next = i + 1 < rows.length ? i + 1 : -1;
      const nextCreates =
        next >= 0 &&
        groups[next] === group &&
        effects[next].fixed &&
        (effects[next].kind === 'creator' || effects[next].kind === 'hard-delete');
      if (hardLater.has(group)) {
        remove.push(i);
      } else if (
        effect.kind !== 'hard-delete' &&
        allCovered &&
        (effect.kind === 'soft-delete' || nextCreates)
      ) {
        remove.push(i);
      } else if (rows[i].op === 'update' && covered.length > 0) {
        strip.set(
          i,
          covered.map(([field]) => field),
        );
      }
    }
    if (effect.kind === 'hard-delete') hardLater.add(group);
    if (effect.fixed && effect.kind !== 'opaque') {
      for (const [field, time] of effect.writes) {
        const later = newest.get(field);
        if (later === undefined || time > later) newest.set(field, time);
      }
    }
  }
  remove.reverse();
  return { remove, strip };
}

/** Rows of several records, ordered by record, then log position: each record judged alone. */
export function judgeRows<T extends StoredRowFacts & { id: string; recordKey: string }>(
  rows: readonly T[],
): { remove: string[]; strip: { id: string; fields: string[] }[] } {
  const remove: string[] = [];
  const strip: { id: string; fields: string[] }[] = [];
  let start = 0;
  for (let i = 1; i <= rows.length; i++) {
    if (i < rows.length && rows[i].recordKey === rows[start].recordKey) continue;
    const record = rows.slice(start, i);
    const verdict = judgeRecord(record);
    for (const index of verdict.remove) remove.push(record[index].id);
    for (const [index, fields] of verdict.strip) strip.push({ id: record[index].id, fields });
    start = i;
  }
  return { remove, strip };
}
