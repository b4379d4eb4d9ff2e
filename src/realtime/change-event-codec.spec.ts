import { ChangeEvent } from './change-bus';
import {
  decodeChangeNotification,
  encodeChangeNotification,
  MAX_PAYLOAD_BYTES,
} from './change-event-codec';

const event: ChangeEvent = {
  appId: 'todo',
  userId: 'user-1',
  clientId: 'client-a',
  tables: ['tasks', 'notes'],
  spaceIds: ['space-x'],
  txId: '12345',
};

describe('change notification codec', () => {
  it('round-trips an event with the sending instance', () => {
    const encoded = encodeChangeNotification({ instance: 'i-1', event })!;
    expect(encoded.degraded).toEqual([]);
    expect(decodeChangeNotification(encoded.payload)).toEqual({ instance: 'i-1', event });
  });

  it('carries only the event fields', () => {
    const extra = { ...event, secret: 'row data' } as ChangeEvent;
    expect(encodeChangeNotification({ instance: 'i', event: extra })!.payload).not.toContain(
      'secret',
    );
  });

  it('sends tables: [] when the tables do not fit, keeping everything else', () => {
    const tables = Array.from({ length: 500 }, (_, i) => `table_${i}_${'x'.repeat(20)}`);
    const encoded = encodeChangeNotification({ instance: 'i', event: { ...event, tables } })!;
    expect(Buffer.byteLength(encoded.payload)).toBeLessThanOrEqual(MAX_PAYLOAD_BYTES);
    expect(encoded.degraded).toEqual(['tables']);
    expect(decodeChangeNotification(encoded.payload)!.event).toEqual({ ...event, tables: [] });
  });

  it('keeps as many space ids as fit, then drops the client id, never exceeding the limit', () => {
    const spaceIds = Array.from({ length: 400 }, (_, i) => `space-${i}-${'é'.repeat(20)}`);
    const encoded = encodeChangeNotification({ instance: 'i', event: { ...event, spaceIds } })!;
    const size = Buffer.byteLength(encoded.payload);
    expect(size).toBeLessThanOrEqual(MAX_PAYLOAD_BYTES);
    expect(size).toBeGreaterThan(MAX_PAYLOAD_BYTES - 60);
    const decoded = decodeChangeNotification(encoded.payload)!.event;
    expect(decoded.spaceIds).toEqual(spaceIds.slice(0, decoded.spaceIds.length));
    expect(decoded.spaceIds.length).toBeGreaterThan(100);
    expect(encoded.degraded).toEqual(['tables', 'spaceIds']);

    const hugeClient = { ...event, clientId: 'c'.repeat(9000) };
    const trimmed = encodeChangeNotification({ instance: 'i', event: hugeClient })!;
    expect(trimmed.degraded).toEqual(['tables', 'spaceIds', 'clientId']);
    expect(decodeChangeNotification(trimmed.payload)!.event.clientId).toBe('');
  });

  it('gives up (undefined) when even the bare event cannot fit', () => {
    expect(
      encodeChangeNotification({ instance: 'i', event: { ...event, userId: 'u'.repeat(9000) } }),
    ).toBeUndefined();
  });

  it('rejects malformed payloads', () => {
    for (const payload of [
      'not json',
      'null',
      '{"appId":"todo"}',
      JSON.stringify({ instance: 'i', ...event, txId: 'abc' }),
      JSON.stringify({ instance: 'i', ...event, tables: [1] }),
    ]) {
      expect(decodeChangeNotification(payload)).toBeUndefined();
    }
  });
});
