import { crc32 } from 'zlib';
import { LineSplitter } from './archive-reader';
import { parseCliArgs, UsageError } from '../cli/backup-cli-args';
import { isStorableTime } from './backup-event.dto';
import { archiveFileName, parseEvent, parseManifest, readVerifiedEvent } from './backup-format';
import './native-crc32';
import { BatchCutter } from './restore-batches';

const EVENT = {
  eventId: '0b8d3c52-6f39-4f4e-a8c4-1f0c2b9e7a11',
  schemaVersion: 1,
  appId: 'todo',
  table: 'tasks',
  id: 't1',
  op: 'update',
  data: { title: 'x' },
  fieldMeta: { title: '2026-11-27T10:00:00.000Z' },
  spaceId: null,
  actor: { kind: 'ai' },
  origin: 'agent',
  clientId: 'c1',
  createdAt: '2026-11-27T10:00:00.123456Z',
};

const MANIFEST = {
  formatVersion: 1,
  schemaVersion: 1,
  userId: 'u1',
  createdAt: '2026-11-27T10:00:00.000Z',
  eventCount: 1,
  eventsSha256: 'a'.repeat(64),
  apps: ['todo'],
  producedBy: 'sync-server/0.1.0',
  schemaVersionMin: 1,
  schemaVersionMax: 1,
};

describe('backup format', () => {
  it('reads an event back exactly, microseconds included', () => {
    expect(parseEvent(JSON.stringify(EVENT), 1, 1)).toEqual(EVENT);
  });

  it.each([
    [{ eventId: 'nope' }, /line 7: eventId must be a UUID/],
    // The rules a push has too speak in ChangeDto's words (the shared decorators).
    [{ op: 'upsert' }, 'op must be one of the following values: insert, update, delete'],
    [{ schemaVersion: 2 }, /schemaVersion must be an integer from 1 to 1/],
    [{ appId: 'bad app' }, /appId/],
    [{ table: '' }, 'table should not be empty'],
    [{ data: [1] }, /data must be an object or null/],
    [{ fieldMeta: { title: 5 } }, /fieldMeta/],
    [{ createdAt: 'yesterday' }, /createdAt must be an ISO-8601 time/],
    [
      { spaceId: 7 },
      'spaceId must be shorter than or equal to 200 characters; spaceId must be a string',
    ],
  ])('refuses an event with %j', (change, message) => {
    const parse = () => parseEvent(JSON.stringify({ ...EVENT, ...change }), 7, 1);
    // A string is the whole message after the line number.
    expect(parse).toThrow(
      typeof message === 'string' ? new Error(`events.jsonl line 7: ${message}`) : message,
    );
  });

  it('reads an upper-case eventId lower-cased, as a push stores it', () => {
    const upper = { ...EVENT, eventId: EVENT.eventId.toUpperCase() };
    expect(parseEvent(JSON.stringify(upper), 1, 1).eventId).toBe(EVENT.eventId);
  });

  it("reads a verified line (an import's second pass) as the first pass did; a changed one is refused", () => {
    const upper = JSON.stringify({ ...EVENT, eventId: EVENT.eventId.toUpperCase() });
    expect(readVerifiedEvent(upper)).toEqual(parseEvent(upper, 1, 1));
    for (const changed of ['{"eventId":', '[]', 'null', '{"eventId":7}']) {
      expect(() => readVerifiedEvent(changed)).toThrow(
        new Error('events.jsonl changed since it was verified'),
      );
    }
  });

  it('refuses a line that is not a JSON object', () => {
    expect(() => parseEvent('{"eventId":', 3, 1)).toThrow(/line 3: is not valid JSON/);
    expect(() => parseEvent('[]', 3, 1)).toThrow(/line 3: must be a JSON object/);
  });

  it('checks the manifest shape and its formatVersion', () => {
    expect(parseManifest(JSON.stringify(MANIFEST))).toEqual(MANIFEST);
    expect(() => parseManifest('not json')).toThrow(/not valid JSON/);
    expect(() => parseManifest(JSON.stringify({ ...MANIFEST, formatVersion: 2 }))).toThrow(
      /formatVersion 2 is not supported/,
    );
    expect(() => parseManifest(JSON.stringify({ ...MANIFEST, eventCount: -1 }))).toThrow(
      /eventCount/,
    );
    expect(() => parseManifest(JSON.stringify({ ...MANIFEST, eventsSha256: 'x' }))).toThrow(
      /eventsSha256/,
    );
  });

  it('names the file after the user and the time, safe for a header', () => {
    const at = new Date('2026-11-27T09:08:07.654Z');
    expect(archiveFileName('user-1', at)).toBe('sync-backup-user-1-20261127-090807.mana');
    expect(archiveFileName('a"b/c ä', at)).toBe('sync-backup-a_b_c__-20261127-090807.mana');
  });

  it('splits lines across chunk boundaries', () => {
    const lines: string[] = [];
    const splitter = new LineSplitter();
    const onLine = (line: Buffer, number: number) => lines.push(`${number}:${line}`);
    splitter.push(Buffer.from('{"a":1}\n{"b"'), onLine);
    splitter.push(Buffer.from(':"\u00e9"}\n{"c":3}'), onLine);
    splitter.end(onLine);
    expect(lines).toEqual(['1:{"a":1}', '2:{"b":"\u00e9"}', '3:{"c":3}']);
  });

  it('refuses nesting beyond 64 levels, naming the line and the field, before any recursive walk', () => {
    const deep = (levels: number) => '['.repeat(levels) + ']'.repeat(levels);
    const line = (data: string) => JSON.stringify({ ...EVENT, data: 'X' }).replace('"X"', data);
    expect(parseEvent(line(`{"a":${deep(63)}}`), 4, 1).data).toEqual({ a: expect.any(Array) });
    expect(() => parseEvent(line(`{"a":${deep(2400)}}`), 4, 1)).toThrow(
      /^events\.jsonl line 4: data\.a(\[0\])+ is nested deeper than 64 levels$/,
    );
    const deepActor = JSON.stringify({ ...EVENT, actor: 'X' }).replace('"X"', deep(2400));
    expect(() => parseEvent(deepActor, 5, 1)).toThrow(/line 5: actor(\[0\])+ is nested deeper/);
  });

  it('refuses what PostgreSQL would change or refuse: 1e400, \\u0000, a lone surrogate, 30 February', () => {
    const line = (change: string) => JSON.stringify({ ...EVENT, data: 'X' }).replace('"X"', change);
    expect(() => parseEvent(line('{"n":1e400}'), 2, 1)).toThrow(
      /line 2: data\.n is a number JSON cannot carry exactly/,
    );
    expect(() => parseEvent(line('{"t":"a\\u0000b"}'), 2, 1)).toThrow(/data\.t contains a \\u0000/);
    expect(() => parseEvent(line('{"t":"\\ud800"}'), 2, 1)).toThrow(/lone UTF-16 surrogate/);
    expect(() => parseEvent(JSON.stringify({ ...EVENT, table: 'a\u0000' }), 2, 1)).toThrow(
      /line 2: table contains a \\u0000/,
    );
    // A pair, and an escaped backslash before "ud800", are fine.
    expect(parseEvent(line('{"t":"\\ud83d\\ude00","u":"\\\\ud800"}'), 2, 1).data).toEqual({
      t: '\u{1f600}',
      u: '\\ud800',
    });
  });

  it.each([
    ['2026-11-27T10:00:00.123456Z', true],
    ['2024-02-29T00:00:00Z', true],
    ['2026-11-27T10:00Z', true],
    ['2026-11-27T10:00:00+15:59', true],
    ['0001-01-01T00:00:00Z', true],
    ['9999-12-31T23:59:59Z', true],
    ['2024-02-30T00:00:00Z', false],
    ['2023-02-29T00:00:00Z', false],
    ['0000-01-01T00:00:00Z', false],
    ['0001-01-01T00:00:00+01:00', false],
    ['2026-11-27T24:00:00Z', false],
    ['2026-11-27T10:00:00+16:00', false],
    ['9999-12-31T23:59:59.5Z', false],
  ])('createdAt %s is storable: %s', (time, storable) => {
    expect(isStorableTime(time)).toBe(storable);
  });

  it('cuts the same bytes into the same batches, by rows and by bytes', () => {
    const cut = (lines: string[], rows: number, bytes: number) => {
      const cutter = new BatchCutter<string>(rows, bytes);
      const batches = lines.map((l) => cutter.add(Buffer.from(l), l)).filter((b) => b);
      const last = cutter.finish();
      return [...batches, ...(last ? [last] : [])].map((b) => ({ n: b!.lines, d: b!.digest }));
    };
    const lines = ['a', 'bb', 'ccc', 'dddd', 'e'];
    expect(cut(lines, 2, 1000).map((b) => b.n)).toEqual([2, 2, 1]);
    expect(cut(lines, 100, 6).map((b) => b.n)).toEqual([3, 2]);
    expect(cut(lines, 2, 1000)).toEqual(cut([...lines], 2, 1000));
    expect(cut(['a', 'bX', 'ccc', 'dddd', 'e'], 2, 1000)[0].d).not.toBe(cut(lines, 2, 1000)[0].d);
  });

  it("computes yazl's CRC-32 natively, with the same values", () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const patched = require('buffer-crc32') as { unsigned(b: Buffer, p?: number): number };
    expect(patched.unsigned(Buffer.from('123456789'))).toBe(0xcbf43926);
    const data = Buffer.from('events.jsonl bytes, in two chunks');
    expect(patched.unsigned(data.subarray(9), patched.unsigned(data.subarray(0, 9)))).toBe(
      crc32(data),
    );
  });
});

describe('backup CLI arguments', () => {
  it('reads export and import', () => {
    expect(parseCliArgs(['export', '--user', 'u1', '--out', 'f.mana'])).toEqual({
      command: 'export',
      userId: 'u1',
      file: 'f.mana',
    });
    expect(parseCliArgs(['import', '--in', 'f.mana', '--user', 'u1'])).toEqual({
      command: 'import',
      userId: 'u1',
      file: 'f.mana',
    });
  });

  it.each([
    [[]],
    [['export', '--out', 'f']],
    [['import', '--user', 'u', '--out', 'f']],
    [['wipe', '--user', 'u']],
    [['export', '--user']],
  ])('refuses %j', (argv) => {
    expect(() => parseCliArgs(argv)).toThrow(UsageError);
  });
});
