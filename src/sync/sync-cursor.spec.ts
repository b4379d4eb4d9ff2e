import {
  EPOCH_CURSOR,
  formatCursor,
  InvalidCursorError,
  nextCursor,
  parseSince,
} from './sync-cursor';

const NOW = Date.parse('2026-11-27T12:00:00.000Z');

describe('sync cursor', () => {
  it('round-trips a position and keeps the ISO-8601 shape, URL-safe, ending in Z', () => {
    const cursor = formatCursor({ txId: 123456n, seq: 42n }, NOW);
    expect(cursor).toMatch(/^2026-11-27T12:00:00\.000\d{38}Z$/);
    expect(cursor).toMatch(/^[A-Za-z0-9\-:._~]+$/);
    expect(new URL(`http://x/pull?since=${cursor}`).searchParams.get('since')).toBe(cursor);
    // Parsers that read it as a date get (about) the time part; clients only compare strings.
    expect(Math.abs(Date.parse(cursor) - NOW)).toBeLessThan(1000);
    expect(parseSince(cursor)).toEqual({ position: { txId: 123456n, seq: 42n }, timeMs: NOW });
  });

  it('starts at the beginning for no since or the epoch', () => {
    for (const since of [undefined, '', EPOCH_CURSOR, '1970-01-01T00:00:00Z']) {
      expect(parseSince(since)).toEqual({ position: { txId: 0n, seq: 0n }, timeMs: 0 });
    }
  });

  it('accepts a plain ISO time (a Go-era cursor) as "created after"', () => {
    const since = '2026-11-20T10:00:00.123456789Z';
    const cursor = parseSince(since);
    expect(cursor.createdAfter).toBe(since);
    expect(cursor.position).toEqual({ txId: 0n, seq: 0n });
    // Even a cursor made in the same millisecond sorts after the Go cursor string.
    expect(formatCursor(cursor.position, cursor.timeMs) > since).toBe(true);
  });

  it.each([
    'yesterday',
    '2026-13-01T00:00:00Z',
    '2026-11-27',
    '12345',
    '2026-11-27T12:00:00.000+01',
    'null',
  ])('rejects %s', (since) => {
    expect(() => parseSince(since)).toThrow(InvalidCursorError);
  });

  it('rejects positions beyond bigint', () => {
    expect(() => parseSince(`2026-11-27T12:00:00.000${'9'.repeat(19)}${'0'.repeat(19)}Z`)).toThrow(
      InvalidCursorError,
    );
  });

  it('a full page continues after its last row; a partial page jumps to the horizon', () => {
    const since = parseSince(EPOCH_CURSOR);
    const full = nextCursor(since, { last: { txId: 7n, seq: 3n }, full: true, horizon: 9n }, NOW);
    expect(parseSince(full).position).toEqual({ txId: 7n, seq: 3n });
    const partial = nextCursor(
      since,
      { last: { txId: 7n, seq: 3n }, full: false, horizon: 9n },
      NOW,
    );
    expect(parseSince(partial).position).toEqual({ txId: 9n, seq: 0n });
  });

  it('never moves backwards, in position or as a string', () => {
    const ahead = parseSince(formatCursor({ txId: 50n, seq: 0n }, NOW + 60_000));
    const next = nextCursor(ahead, { full: false, horizon: 40n }, NOW);
    expect(parseSince(next).position).toEqual({ txId: 50n, seq: 0n });
    expect(next >= formatCursor({ txId: 50n, seq: 0n }, NOW + 60_000)).toBe(true);
  });

  it('sorts as strings in position order within one time', () => {
    const a = formatCursor({ txId: 9n, seq: 999n }, NOW);
    const b = formatCursor({ txId: 10n, seq: 1n }, NOW);
    expect(a < b).toBe(true);
  });
  it('refuses times that do not exist (Feb 30, hour 24, offset beyond 15 h) instead of rolling them over', () => {
    for (const since of [
      '2024-02-30T10:00:00Z',
      '2023-02-29T00:00:00Z',
      '2024-04-31T00:00:00.000Z',
      '2024-01-01T24:00:00Z',
      '2024-13-01T00:00:00Z',
      '2024-01-01T10:00:00+23:59',
      `2024-02-30T10:00:00.000${'0'.repeat(38)}Z`,
    ]) {
      expect(() => parseSince(since)).toThrow(InvalidCursorError);
    }
    expect(parseSince('2024-02-29T10:00:00+05:30').createdAfter).toBe('2024-02-29T10:00:00+05:30');
  });

  it('never formats a time past year 9999 (a +010000 cursor would be refused)', () => {
    const since = parseSince('9999-12-31T23:59:59.999Z');
    const cursor = nextCursor(since, { full: false, horizon: 5n }, NOW);
    expect(cursor).toMatch(/^9999-12-31T23:59:59\.999\d{38}Z$/);
    expect(parseSince(cursor).position).toEqual({ txId: 5n, seq: 0n });
  });
});
