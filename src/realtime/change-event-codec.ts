import type { CommittedChange } from '../store/change-log';

/**
 * The PostgreSQL channel hints travel on between instances (per database, so test
 * databases stay apart). Not mana-sync's nor earlier versions' `sync_changes`: their
 * payloads were single events, and mixed versions would read each other's as malformed.
 */
export const HINT_CHANNEL = 'sync_hints';

/** PostgreSQL refuses NOTIFY payloads of 8000 bytes or more. */
export const MAX_PAYLOAD_BYTES = 7999;

/** What travels through NOTIFY: hints of one instance, which skips its own when they come back. */
export interface HintBatch {
  instance: string;
  hints: CommittedChange[];
}

export interface EncodedHints {
  payloads: string[];
  /** What had to be left out of some hint to fit; empty when nothing was. */
  degraded: string[];
  /** Hints that could not fit even bare (ids far beyond any sane size). */
  dropped: number;
}

/**
 * Packs hints into as few payloads as fit PostgreSQL's limit, in order. A hint too large
 * alone is trimmed: its tables first (`tables: []`, "something changed": receivers treat
 * it as every table), then the space ids that do not fit (those co-members catch up on
 * their next sync), then the client id (the writing client is told of its own push).
 */
export function encodeHints(
  instance: string,
  hints: readonly CommittedChange[],
  maxBytes = MAX_PAYLOAD_BYTES,
): EncodedHints {
  const head = `{"instance":${JSON.stringify(instance)},"hints":[`;
  const tail = ']}';
  const room = maxBytes - Buffer.byteLength(head) - Buffer.byteLength(tail);
  const payloads: string[] = [];
  const degraded = new Set<string>();
  let dropped = 0;
  let items: string[] = [];
  let used = 0;
  for (const hint of hints) {
    const encoded = encodeHint(hint, room);
    if (!encoded) {
      dropped++;
      continue;
    }
    for (const part of encoded.degraded) degraded.add(part);
    const cost = Buffer.byteLength(encoded.json) + (items.length > 0 ? 1 : 0);
    if (used + cost > room) {
      payloads.push(head + items.join(',') + tail);
      items = [];
      used = 0;
    }
    used += Buffer.byteLength(encoded.json) + (items.length > 0 ? 1 : 0);
    items.push(encoded.json);
  }
  if (items.length > 0) payloads.push(head + items.join(',') + tail);
  return { payloads, degraded: [...degraded], dropped };
}

/** One hint as JSON of at most `maxBytes`, trimmed as encodeHints says; undefined if it cannot fit. */
export function encodeHint(
  hint: CommittedChange,
  maxBytes: number,
): { json: string; degraded: string[] } | undefined {
  const degraded: string[] = [];
  let wire = toWire(hint);
  const fits = (): boolean => Buffer.byteLength(JSON.stringify(wire)) <= maxBytes;
  if (!fits()) {
    wire = { ...wire, tables: [] };
    degraded.push('tables');
  }
  if (!fits()) {
    // A JSON array costs its items plus one comma between each: keep the ids that fit.
    let used = Buffer.byteLength(JSON.stringify({ ...wire, spaceIds: [] }));
    const kept: string[] = [];
    for (const id of wire.spaceIds) {
      const cost = Buffer.byteLength(JSON.stringify(id)) + (kept.length > 0 ? 1 : 0);
      if (used + cost > maxBytes) break;
      kept.push(id);
      used += cost;
    }
    wire = { ...wire, spaceIds: kept };
    degraded.push('spaceIds');
  }
  if (!fits()) {
    wire = { ...wire, clientId: '' };
    degraded.push('clientId');
  }
  return fits() ? { json: JSON.stringify(wire), degraded } : undefined;
}

/** Parses a payload from the channel; undefined for anything that is not a well-formed batch. */
export function decodeHints(payload: string): HintBatch | undefined {
  let wire: unknown;
  try {
    wire = JSON.parse(payload);
  } catch {
    return undefined;
  }
  if (typeof wire !== 'object' || wire === null) return undefined;
  const { instance, hints } = wire as Record<string, unknown>;
  if (typeof instance !== 'string' || !Array.isArray(hints) || !hints.every(isWire)) {
    return undefined;
  }
  return { instance, hints: hints.map(toWire) };
}

function toWire(hint: CommittedChange): CommittedChange {
  // Only the known fields: nothing else may leak onto the channel.
  const wire: CommittedChange = {
    appId: hint.appId,
    userId: hint.userId,
    clientId: hint.clientId,
    tables: hint.tables,
    spaceIds: hint.spaceIds,
    txId: hint.txId,
  };
  if (hint.committedAt !== undefined) wire.committedAt = hint.committedAt;
  return wire;
}

function isWire(value: unknown): value is CommittedChange {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return (
    typeof v.appId === 'string' &&
    typeof v.userId === 'string' &&
    typeof v.clientId === 'string' &&
    typeof v.txId === 'string' &&
    /^\d+$/.test(v.txId) &&
    isStringArray(v.tables) &&
    isStringArray(v.spaceIds) &&
    (v.committedAt === undefined || Number.isFinite(v.committedAt))
  );
}

function isStringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((item) => typeof item === 'string');
}
