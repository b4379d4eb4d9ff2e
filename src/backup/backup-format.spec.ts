import { Readable } from 'stream';
import { jsonLines } from './archive-reader';
import { parseCliArgs, UsageError } from './backup-cli-args';
import { archiveFileName, parseEvent, parseManifest } from './backup-format';

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
    [{ eventId: 'nope' }, /line 7: eventId must be a lower-case UUID/],
    [{ op: 'upsert' }, /op must be insert, update or delete/],
    [{ schemaVersion: 2 }, /schemaVersion must be an integer from 1 to 1/],
    [{ appId: 'bad app' }, /appId/],
    [{ table: '' }, /table must be a string/],
    [{ data: [1] }, /data must be an object or null/],
    [{ fieldMeta: { title: 5 } }, /fieldMeta/],
    [{ createdAt: 'yesterday' }, /createdAt must be an ISO-8601 time/],
    [{ spaceId: 7 }, /spaceId/],
  ])('refuses an event with %j', (change, message) => {
    expect(() => parseEvent(JSON.stringify({ ...EVENT, ...change }), 7, 1)).toThrow(message);
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

  it('splits lines across chunk boundaries and hashes every byte', async () => {
    const seen: Buffer[] = [];
    const lines: string[] = [];
    const source = Readable.from([
      Buffer.from('{"a":1}\n{"b"'),
      Buffer.from(':"\u00e9"}\n{"c":3}'),
    ]);
    for await (const { line, number } of jsonLines(source, (b) => seen.push(b)))
      lines.push(`${number}:${line}`);
    expect(lines).toEqual(['1:{"a":1}', '2:{"b":"\u00e9"}', '3:{"c":3}']);
    expect(Buffer.concat(seen).toString()).toBe('{"a":1}\n{"b":"\u00e9"}\n{"c":3}');
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
