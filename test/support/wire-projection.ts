/**
 * The server→client projection of a stored row, in JavaScript: the reference the
 * store's SQL projection (WIRE_CHANGE_SQL) is held equal to
 * (test/integration/wire-projection.spec.ts), and the web-client model's input.
 * insert → data; update → fields rebuilt from data + field_meta, `at` falling back to
 * the row's created_at; delete → deletedAt when stored as a string; spaceId, actor and
 * origin only when set.
 */
import type { ChangeRow } from '../../src/store/change-columns';
import type { ServerChange } from '../../src/sync/dto/sync-response.dto';

export function toServerChange(row: ChangeRow): ServerChange {
  const change: ServerChange = {
    eventId: row.id,
    schemaVersion: row.schemaVersion,
    table: row.tableName,
    id: row.recordId,
    op: row.op,
  };
  const data = row.data ?? {};
  if (row.op === 'insert') {
    change.data = data;
  } else if (row.op === 'update') {
    const meta = row.fieldMeta ?? {};
    change.fields = Object.fromEntries(
      Object.entries(data).map(([name, value]) => [
        name,
        // Own keys only: a field named like an Object.prototype member has no time of its own.
        { value, at: (Object.hasOwn(meta, name) ? meta[name] : undefined) ?? row.createdAt },
      ]),
    );
  } else if (typeof data.deletedAt === 'string') {
    change.deletedAt = data.deletedAt;
  }
  if (row.spaceId !== null) change.spaceId = row.spaceId;
  if (row.actor !== null && row.actor !== undefined) change.actor = row.actor;
  if (row.origin !== null) change.origin = row.origin;
  return change;
}
