import { toChangeset } from '../sync/change-mapper';
import { PushBodyPipe } from '../sync/push-body.pipe';
import { compareWithClassValidator } from '../../test/support/validation-property';
import { BackupEventDto } from './backup-event.dto';
import { parseEvent } from './backup-format';

/**
 * The rules a push change and an archive line share are the same decorators
 * (common/wire-validators.ts): both refuse the same values, in the same words,
 * and both take the boundary values.
 */
const MAX_SCHEMA_VERSION = 3;

const CHANGE = { table: 'tasks', id: 't1', op: 'update', data: { title: 'x' } };

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
  actor: null,
  origin: null,
  clientId: 'c1',
  createdAt: '2026-11-27T10:00:00.123456Z',
};

/** A push of one change, as far as it goes before the database: the pipe, then the mapper. */
function push(field: string, value: unknown): void {
  const body = new PushBodyPipe().transform({
    clientId: 'c1',
    changes: [{ ...CHANGE, [field]: value }],
  });
  toChangeset(body, MAX_SCHEMA_VERSION);
}

function restore(field: string, value: unknown): Record<string, unknown> {
  const line = JSON.stringify({ ...EVENT, [field]: value });
  return parseEvent(line, 1, MAX_SCHEMA_VERSION) as unknown as Record<string, unknown>;
}

function messageOf(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error('expected a refusal');
}

const RULES: { field: string; refused: unknown[]; accepted: unknown[] }[] = [
  {
    field: 'table',
    refused: [5, '', 'x'.repeat(201), null, ['tasks']],
    accepted: ['t', 'x'.repeat(200)],
  },
  { field: 'id', refused: [42, '', 'x'.repeat(501), null, {}], accepted: ['r', 'x'.repeat(500)] },
  { field: 'spaceId', refused: [7, 'x'.repeat(201), {}], accepted: [null, 's', 'x'.repeat(200)] },
  {
    field: 'origin',
    refused: [7, 'x'.repeat(101), ['user']],
    accepted: [null, '', 'agent', 'x'.repeat(100)],
  },
  { field: 'schemaVersion', refused: [-1, 1.5, '1', true], accepted: [1, MAX_SCHEMA_VERSION] },
  {
    field: 'op',
    refused: ['upsert', 'INSERT', '', 5, null],
    accepted: ['insert', 'update', 'delete'],
  },
];

/** `"x" × 201` instead of 201 characters in a test title. */
function label(value: unknown): string {
  return typeof value === 'string' && value.length > 20
    ? `"${value[0]}" × ${value.length}`
    : JSON.stringify(value);
}

const cases = (pick: 'refused' | 'accepted') =>
  RULES.flatMap((rule) => rule[pick].map((value) => [rule.field, label(value), value] as const));

describe('a push change and an archive event: the same rules', () => {
  it.each(cases('refused'))('both refuse %s %s, in the same words', (field, _label, value) => {
    const pushed = messageOf(() => push(field, value));
    const restored = messageOf(() => restore(field, value));
    expect(pushed).toMatch(new RegExp(`^changes\\.0\\.${field} `));
    expect(restored).toMatch(new RegExp(`^events\\.jsonl line 1: ${field} `));
    expect(restored.replace('events.jsonl line 1: ', '')).toBe(pushed.replaceAll('changes.0.', ''));
  });

  it.each(cases('accepted'))('both take %s %s', (field, _label, value) => {
    expect(() => push(field, value)).not.toThrow();
    expect(restore(field, value)[field]).toEqual(value);
  });

  it("both refuse a schemaVersion above the server's, each in its own words", () => {
    expect(messageOf(() => push('schemaVersion', 4))).toBe(
      'changes[0].schemaVersion 4 is not supported (max 3)',
    );
    expect(messageOf(() => restore('schemaVersion', 4))).toBe(
      'events.jsonl line 1: schemaVersion must be an integer from 1 to 3',
    );
  });

  it('archive-only: what a push takes as "not given" is no stored value', () => {
    // A push's schemaVersion 0 or null is the changeset's; a stored row holds the resolved one.
    for (const version of [0, null]) {
      expect(() => push('schemaVersion', version)).not.toThrow();
      expect(messageOf(() => restore('schemaVersion', version))).toMatch(/line 1: schemaVersion/);
    }
    // A push's empty spaceId means no space and is stored as null.
    expect(() => push('spaceId', '')).not.toThrow();
    expect(messageOf(() => restore('spaceId', ''))).toBe(
      'events.jsonl line 1: spaceId should not be empty',
    );
  });
});

describe('BackupEventDto compiled (compileValidation)', () => {
  const seed = Number(process.env.SEED ?? Math.floor(Math.random() * 2 ** 31));

  it(`never calls valid a line class-validator refuses (SEED=${seed})`, () => {
    const { valid, fastPassed } = compareWithClassValidator(
      BackupEventDto,
      {
        eventId: '7f1b6c1e-1c1a-4a53-9b1e-2b0c9d7f3e10',
        schemaVersion: 1,
        appId: 'todo',
        table: 'tasks',
        id: 'task-1',
        op: 'update',
        data: { title: 'milk' },
        fieldMeta: { title: '2026-12-06T05:50:53.000Z' },
        spaceId: 'team-1',
        actor: null,
        origin: 'user',
        clientId: 'laptop',
        createdAt: '2026-12-06T05:50:53.000Z',
      },
      seed,
      20_000,
    );
    expect(valid).toBeGreaterThan(2_000);
    expect(fastPassed / valid).toBeGreaterThan(0.8);
  });
});
