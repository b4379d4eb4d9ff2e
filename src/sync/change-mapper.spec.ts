import { ChangeDto } from './dto/change.dto';
import { PushDto } from './dto/push.dto';
import { InvalidChangeError, toChangeset } from './change-mapper';
import { InvalidCursorError } from './sync-cursor';

const MAX = 3;

function changeset(changes: object[], envelope: object = {}) {
  return toChangeset({ changes, ...envelope } as unknown as PushDto, MAX);
}

function refusal(run: () => unknown): Error {
  try {
    run();
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a refusal');
}

describe('toChangeset', () => {
  it('maps an insert, an update and a delete to rows', () => {
    const { rows } = changeset([
      { table: 't', id: 'a', op: 'insert', data: { title: 'x' } },
      {
        table: 't',
        id: 'a',
        op: 'update',
        fields: { title: { value: 'y', at: '2026-01-01T00:00:00Z' }, done: { value: true } },
      },
      { table: 't', id: 'a', op: 'delete', deletedAt: '2026-01-02T00:00:00Z' },
      { table: 't', id: 'b', op: 'delete' },
    ]);
    expect(rows).toEqual([
      expect.objectContaining({ op: 'insert', data: { title: 'x' }, fieldMeta: {} }),
      expect.objectContaining({
        op: 'update',
        data: { title: 'y', done: true },
        fieldMeta: { title: '2026-01-01T00:00:00Z' },
      }),
      expect.objectContaining({ op: 'delete', data: { deletedAt: '2026-01-02T00:00:00Z' } }),
      expect.objectContaining({ op: 'delete', data: {}, fieldMeta: {} }),
    ]);
  });

  it('takes an insert of fields, an update of data, and `updatedAt` as the field time', () => {
    const { rows } = changeset([
      {
        table: 't',
        id: 'a',
        op: 'insert',
        fields: { n: { value: 1, updatedAt: '2026-01-01T00:00:00Z' } },
      },
      { table: 't', id: 'a', op: 'update', data: { n: 2 } },
    ]);
    expect(rows[0]).toMatchObject({ data: { n: 1 }, fieldMeta: { n: '2026-01-01T00:00:00Z' } });
    expect(rows[1]).toMatchObject({ data: { n: 2 }, fieldMeta: {} });
  });

  it('keeps a UUID eventId lower-cased as the row id and drops any other', () => {
    const uuid = '7F1B6C1E-1C1A-4A53-9B1E-2B0C9D7F3E10';
    const { rows } = changeset([
      { table: 't', id: 'a', op: 'insert', data: {}, eventId: uuid },
      { table: 't', id: 'b', op: 'insert', data: {}, eventId: 'not-a-uuid' },
    ]);
    expect(rows.map((r) => r.id)).toEqual([uuid.toLowerCase(), undefined]);
  });

  it('finds the space in spaceId, else data.spaceId, else fields.spaceId.value; empty is none', () => {
    const { rows } = changeset([
      { table: 't', id: 'a', op: 'insert', data: { spaceId: 'd' }, spaceId: 's' },
      { table: 't', id: 'b', op: 'insert', data: { spaceId: 'd' } },
      { table: 't', id: 'c', op: 'update', fields: { spaceId: { value: 'f' } } },
      { table: 't', id: 'e', op: 'insert', data: { spaceId: '' } },
    ]);
    expect(rows.map((r) => r.spaceId)).toEqual(['s', 'd', 'f', null]);
  });

  it("defaults versions: the change's to the push's, the push's to 1 (0 and null too)", () => {
    const change = { table: 't', id: 'a', op: 'insert', data: {} };
    expect(changeset([change]).rows[0]!.schemaVersion).toBe(1);
    expect(changeset([change], { schemaVersion: 0 }).rows[0]!.schemaVersion).toBe(1);
    expect(changeset([change], { schemaVersion: 2 }).rows[0]!.schemaVersion).toBe(2);
    expect(
      changeset([{ ...change, schemaVersion: null }], { schemaVersion: 2 }).rows[0]!.schemaVersion,
    ).toBe(2);
    expect(
      changeset([{ ...change, schemaVersion: 3 }], { schemaVersion: 2 }).rows[0]!.schemaVersion,
    ).toBe(3);
  });

  it('parses since and keeps the body for the idempotency hash', () => {
    const body = { changes: [], since: '2026-01-01T00:00:00Z' } as unknown as PushDto;
    const result = toChangeset(body, MAX);
    expect(result.since.createdAfter).toBe('2026-01-01T00:00:00Z');
    expect(result.body).toBe(body);
  });

  it.each([
    [[{ table: 't', id: 'a', op: 'insert' }], 'changes[0].data is required for insert'],
    [[{ table: 't', id: 'a', op: 'update' }], 'changes[0].fields is required for update'],
    [
      [{ table: 't', id: 'a', op: 'update', fields: { n: 1 } }],
      'changes[0].fields.n must be an object {value, at}',
    ],
    [
      [{ table: 't', id: 'a', op: 'update', fields: { n: { value: 1, at: 'soon' } } }],
      'changes[0].fields.n.at must be an ISO-8601 time',
    ],
    [
      [{ table: 't', id: 'a', op: 'insert', data: { spaceId: 7 } }],
      'changes[0].spaceId must be a string',
    ],
    [
      [{ table: 't', id: 'a', op: 'insert', data: {}, schemaVersion: 4 }],
      'changes[0].schemaVersion 4 is not supported (max 3)',
    ],
  ])('refuses %j: %s', (changes, message) => {
    const error = refusal(() => changeset(changes));
    expect(error).toBeInstanceOf(InvalidChangeError);
    expect(error.message).toBe(message);
  });

  it('checks in order: since, the push version, then each change in turn', () => {
    const bad = { table: 't', id: 'a', op: 'insert' } as unknown as ChangeDto;
    const good = { table: 't', id: 'b', op: 'insert', data: {} };
    expect(refusal(() => changeset([bad], { since: 'x', schemaVersion: 9 }))).toBeInstanceOf(
      InvalidCursorError,
    );
    expect(refusal(() => changeset([bad], { schemaVersion: 9 })).message).toBe(
      'schemaVersion 9 is not supported (max 3)',
    );
    expect(refusal(() => changeset([good, bad, bad])).message).toMatch(/^changes\[1\]\.data/);
  });
});
