import type { CommittedChange } from '../store/change-log';
import { decodeHints, encodeHint, encodeHints, MAX_PAYLOAD_BYTES } from './change-event-codec';

const hint: CommittedChange = {
  appId: 'todo',
  userId: 'user-1',
  clientId: 'client-a',
  tables: ['tasks', 'notes'],
  spaceIds: ['space-x'],
  txId: '12345',
  committedAt: 1_765_000_000_000,
};

describe('hint codec', () => {
  it('round-trips hints with the sending instance, in one payload', () => {
    const second = { ...hint, userId: 'user-2', txId: '12346' };
    const encoded = encodeHints('i-1', [hint, second]);
    expect(encoded).toEqual({ payloads: [expect.any(String)], degraded: [], dropped: 0 });
    expect(decodeHints(encoded.payloads[0])).toEqual({ instance: 'i-1', hints: [hint, second] });
  });

  it('carries only the hint fields', () => {
    const extra = { ...hint, secret: 'row data' } as CommittedChange;
    expect(encodeHints('i', [extra]).payloads[0]).not.toContain('secret');
  });

  it('spreads many hints over payloads that each fit, keeping their order', () => {
    const hints = Array.from({ length: 300 }, (_, i) => ({ ...hint, txId: String(i) }));
    const { payloads, dropped } = encodeHints('instance', hints);
    expect(dropped).toBe(0);
    expect(payloads.length).toBeGreaterThan(1);
    for (const payload of payloads) {
      expect(Buffer.byteLength(payload)).toBeLessThanOrEqual(MAX_PAYLOAD_BYTES);
    }
    expect(payloads.flatMap((p) => decodeHints(p)!.hints)).toEqual(hints);
  });

  it('sends tables: [] when the tables do not fit, keeping everything else', () => {
    const tables = Array.from({ length: 500 }, (_, i) => `table_${i}_${'x'.repeat(20)}`);
    const encoded = encodeHints('i', [{ ...hint, tables }]);
    expect(Buffer.byteLength(encoded.payloads[0])).toBeLessThanOrEqual(MAX_PAYLOAD_BYTES);
    expect(encoded.degraded).toEqual(['tables']);
    expect(decodeHints(encoded.payloads[0])!.hints).toEqual([{ ...hint, tables: [] }]);
  });

  it('keeps as many space ids as fit, then drops the client id, never exceeding the limit', () => {
    const spaceIds = Array.from({ length: 400 }, (_, i) => `space-${i}-${'é'.repeat(20)}`);
    const encoded = encodeHint({ ...hint, spaceIds }, 7000)!;
    const size = Buffer.byteLength(encoded.json);
    expect(size).toBeLessThanOrEqual(7000);
    expect(size).toBeGreaterThan(7000 - 60);
    const decoded = JSON.parse(encoded.json) as CommittedChange;
    expect(decoded.spaceIds).toEqual(spaceIds.slice(0, decoded.spaceIds.length));
    expect(decoded.spaceIds.length).toBeGreaterThan(100);
    expect(encoded.degraded).toEqual(['tables', 'spaceIds']);

    const trimmed = encodeHint({ ...hint, clientId: 'c'.repeat(9000) }, 7000)!;
    expect(trimmed.degraded).toEqual(['tables', 'spaceIds', 'clientId']);
    expect((JSON.parse(trimmed.json) as CommittedChange).clientId).toBe('');
  });

  it('drops (and counts) a hint that cannot fit even bare, and sends the others', () => {
    const huge = { ...hint, userId: 'u'.repeat(9000) };
    const encoded = encodeHints('i', [huge, hint]);
    expect(encoded.dropped).toBe(1);
    expect(decodeHints(encoded.payloads[0])!.hints).toEqual([hint]);
  });

  it('rejects malformed payloads', () => {
    for (const payload of [
      'not json',
      'null',
      '{"instance":"i"}',
      JSON.stringify({ instance: 'i', hints: [{ ...hint, txId: 'abc' }] }),
      JSON.stringify({ instance: 'i', hints: [{ ...hint, tables: [1] }] }),
      JSON.stringify({ instance: 'i', hints: [{ ...hint, committedAt: 'now' }] }),
      JSON.stringify({ instance: 1, hints: [] }),
    ]) {
      expect(decodeHints(payload)).toBeUndefined();
    }
  });
});
