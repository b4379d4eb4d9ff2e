/**
 * What a device holds after syncing a record, and why: the Mana web client's field-level
 * last-writer-wins merge (`applyServerChanges`, as docs/compaction.md records it), applied
 * to the server's projection of each row in log order, keeping for every field who wrote
 * the value it holds and, for every write that did not stay, what beat it. Held equal to
 * the client model of the tests (test/support/web-client-model.ts) by a property test.
 */

/** A change as a device receives it (the wire projection), with what the log knows of it. */
export interface LoggedChange {
  eventId: string;
  /** Position in the log: (tx_id, seq) as decimal strings. */
  txId: string;
  seq: string;
  /** When the push stored it (ISO-8601 UTC, microseconds). */
  createdAt: string;
  clientId: string;
  userId: string;
  spaceId: string | null;
  origin: string | null;
  actor: unknown;
  /** The server→client projection of the row (op, data / fields / deletedAt, ...). */
  wire: WireChange;
}

export interface WireChange {
  op: string;
  data?: Record<string, unknown>;
  fields?: Record<string, { value: unknown; at?: unknown }>;
  deletedAt?: unknown;
  actor?: unknown;
  origin?: string;
}

/** Who wrote a field's value, and with which time. */
export interface FieldWrite {
  value: unknown;
  /** The time the merge compares (a string in every well-formed change). */
  at: unknown;
  /** The time is the receiving device's clock: an insert without updatedAt or createdAt. */
  deviceTime: boolean;
  eventId: string;
  clientId: string;
  userId: string;
  actor: unknown;
  origin: string | null;
}

export type LossReason = 'older-time' | 'same-time' | 'later-delete';

/** One field written by one change, and what became of it. */
export interface WriteOutcome {
  field: string;
  value: unknown;
  at: unknown;
  deviceTime: boolean;
  /** Holds: the device shows this value now. */
  holds: boolean;
  /**
   * Why it does not: `older-time` (a write of the field with a newer time, before or after
   * it in the log), `same-time` (a later change wrote the same time: ties go to the later
   * one), `later-delete` (a later hard delete removed the record).
   */
  reason?: LossReason;
  /** The change that beat it. */
  lostTo?: string;
}

export type ChangeKind = 'insert' | 'update' | 'soft-delete' | 'hard-delete' | 'other';

/** A change of the record's history with the effect it has on a device. */
export interface HistoryEntry {
  change: LoggedChange;
  kind: ChangeKind;
  /** The change creates the record on the device (it was missing). */
  creates: boolean;
  /** Set when the change does nothing on a device, saying why. */
  ignored?: string;
  writes: WriteOutcome[];
}

export type RecordState = 'present' | 'soft-deleted' | 'removed';

export interface DeviceRecord {
  id: string;
  /** `removed`: a hard delete took it off the device (or no change ever created it). */
  state: RecordState;
  fields: Record<string, FieldWrite>;
  changes: number;
  lastChangeAt: string;
}

const FIELD_META_KEY = '__fieldMeta';

/** The client compares times as JavaScript values (strings in practice): the same operator. */
function newerOrSame(a: unknown, b: unknown): boolean {
  return (a as string) >= (b as string);
}

/** `null` and `undefined` are both absent to the client's `??`. */
function absent(value: unknown): value is null | undefined {
  return value === null || value === undefined;
}

interface Held {
  write: FieldWrite;
  outcome?: WriteOutcome;
}

/**
 * Replays one record's changes (log order) on a device that did not have it, as the web
 * client does. `now` is the device clock, used where a change carries no time (an insert
 * without updatedAt or createdAt): the inspection's own time, as for a device syncing now.
 */
export function replayRecord(
  id: string,
  changes: readonly LoggedChange[],
  now: string,
): { record: DeviceRecord; history: HistoryEntry[] } {
  let fields: Map<string, Held> | undefined;
  const history: HistoryEntry[] = [];

  for (const change of changes) {
    const wire = change.wire;
    const entry: HistoryEntry = { change, kind: kindOf(wire), creates: false, writes: [] };
    history.push(entry);
    const write = (field: string, value: unknown, at: unknown, deviceTime: boolean): void => {
      const outcome: WriteOutcome = { field, value, at, deviceTime, holds: true };
      entry.writes.push(outcome);
      const held = fields!.get(field);
      const localAt = held?.write.at ?? '';
      if (held && !newerOrSame(at, localAt)) {
        lose(outcome, 'older-time', held.write.eventId);
        return;
      }
      if (held?.outcome) {
        lose(held.outcome, at === localAt ? 'same-time' : 'older-time', change.eventId);
      }
      fields!.set(field, {
        write: {
          value,
          at,
          deviceTime,
          eventId: change.eventId,
          clientId: change.clientId,
          userId: change.userId,
          actor: change.actor,
          origin: change.origin,
        },
        outcome,
      });
    };

    if (wire.deletedAt || wire.op === 'delete') {
      if (!fields) {
        entry.ignored = 'the record is not on the device';
      } else if (wire.deletedAt) {
        write('deletedAt', wire.deletedAt, wire.deletedAt, false);
      } else {
        for (const held of fields.values()) {
          if (held.outcome) lose(held.outcome, 'later-delete', change.eventId);
        }
        fields = undefined;
      }
      continue;
    }
    if (wire.op === 'insert') {
      const data = (wire.data ?? wire) as Record<string, unknown>;
      const stamped = absent(data.updatedAt) ? data.createdAt : data.updatedAt;
      const deviceTime = absent(stamped);
      const at = deviceTime ? now : stamped;
      if (!fields) {
        // A missing record is replaced by the data, every key stamped with the one time.
        fields = new Map();
        entry.creates = true;
      }
      for (const [key, value] of Object.entries(data)) {
        if (key === 'id' || key === FIELD_META_KEY) continue;
        write(key, value, at, deviceTime);
      }
      continue;
    }
    if (wire.op === 'update' && wire.fields) {
      const creates = !fields;
      if (creates) {
        fields = new Map();
        entry.creates = true;
      }
      for (const [key, field] of Object.entries(wire.fields)) {
        // This server always sends `at`; a change without one takes the device clock on creation.
        const deviceTime = absent(field.at) && creates;
        write(key, field.value, absent(field.at) ? (creates ? now : '') : field.at, deviceTime);
      }
      continue;
    }
    entry.ignored =
      wire.op === 'update' ? 'an update without fields changes nothing' : 'unknown op';
  }

  const record: DeviceRecord = {
    id,
    state: !fields ? 'removed' : fields.get('deletedAt')?.write.value ? 'soft-deleted' : 'present',
    fields: Object.fromEntries(
      [...(fields ?? new Map<string, Held>())].map(([k, h]) => [k, h.write]),
    ),
    changes: changes.length,
    lastChangeAt: changes.reduce((last, c) => (c.createdAt > last ? c.createdAt : last), ''),
  };
  return { record, history };
}

function lose(outcome: WriteOutcome, reason: LossReason, lostTo: string): void {
  outcome.holds = false;
  outcome.reason = reason;
  outcome.lostTo = lostTo;
}

function kindOf(wire: WireChange): ChangeKind {
  if (wire.deletedAt || wire.op === 'delete') return wire.deletedAt ? 'soft-delete' : 'hard-delete';
  if (wire.op === 'insert') return 'insert';
  if (wire.op === 'update') return 'update';
  return 'other';
}
