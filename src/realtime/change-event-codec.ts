import { ChangeEvent } from './change-bus';

/** The PostgreSQL channel every instance LISTENs on (per database, so test databases stay apart). */
export const CHANGE_CHANNEL = 'sync_changes';

/** PostgreSQL refuses NOTIFY payloads of 8000 bytes or more. */
export const MAX_PAYLOAD_BYTES = 7999;

/** What travels through NOTIFY: the event plus the publishing instance, which skips its own echo. */
export interface ChangeNotification {
  instance: string;
  event: ChangeEvent;
}

export interface EncodedNotification {
  payload: string;
  /** What had to be left out to fit; empty when nothing was. */
  degraded: string[];
}

/**
 * Serialises an event for pg_notify, within PostgreSQL's payload limit. A push
 * touching very many tables is sent with `tables: []` ("something changed":
 * receivers treat it as every table); beyond that, space ids that do not fit
 * are dropped (those co-members catch up on their next sync) and then the
 * client id (the pushing client is notified of its own push). Undefined when
 * even the bare event does not fit.
 */
export function encodeChangeNotification(
  notification: ChangeNotification,
  maxBytes = MAX_PAYLOAD_BYTES,
): EncodedNotification | undefined {
  const { instance, event } = notification;
  const degraded: string[] = [];
  let wire = toWire(instance, event);
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
  return fits() ? { payload: JSON.stringify(wire), degraded } : undefined;
}

/** Parses a payload from the channel; undefined for anything that is not a well-formed event. */
export function decodeChangeNotification(payload: string): ChangeNotification | undefined {
  let wire: unknown;
  try {
    wire = JSON.parse(payload);
  } catch {
    return undefined;
  }
  if (!isWire(wire)) return undefined;
  const { instance, ...event } = wire;
  return { instance, event };
}

type Wire = ChangeEvent & { instance: string };

function toWire(instance: string, event: ChangeEvent): Wire {
  // Only the known fields: nothing else of the push may leak onto the channel.
  return {
    instance,
    appId: event.appId,
    userId: event.userId,
    clientId: event.clientId,
    tables: event.tables,
    spaceIds: event.spaceIds,
    txId: event.txId,
  };
}

function isWire(value: unknown): value is Wire {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return (
    typeof v.instance === 'string' &&
    typeof v.appId === 'string' &&
    typeof v.userId === 'string' &&
    typeof v.clientId === 'string' &&
    typeof v.txId === 'string' &&
    /^\d+$/.test(v.txId) &&
    isStringArray(v.tables) &&
    isStringArray(v.spaceIds)
  );
}

function isStringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((item) => typeof item === 'string');
}
