import { BadRequestException } from '@nestjs/common';
import { loadConfig } from '../config/app-config';
import { InvalidInputError } from '../common/errors/domain-errors';
import { PushBodyPipe } from './push-body.pipe';
import { PushChangesetPipe } from './push-changeset.pipe';

/** The push's two body pipes in the route's order: the envelope, then the changeset. */
function parse(body: unknown, maxSchemaVersion = 2) {
  const config = loadConfig({ SYNC_MAX_SCHEMA_VERSION: String(maxSchemaVersion) });
  return new PushChangesetPipe(config.sync).transform(new PushBodyPipe().transform(body));
}

describe('PushBodyPipe then PushChangesetPipe', () => {
  it('hands on the rows, the cursor and the body as validated (unknown keys dropped)', () => {
    const result = parse({
      clientId: 'c',
      since: '2026-01-01T00:00:00Z',
      schemaVersion: 2,
      extra: 'dropped',
      changes: [{ table: 't', id: 'a', op: 'insert', data: { x: [1, { y: null }] }, junk: 1 }],
    });
    expect(result.since.createdAfter).toBe('2026-01-01T00:00:00Z');
    expect(result.rows).toEqual([
      expect.objectContaining({
        tableName: 't',
        recordId: 'a',
        schemaVersion: 2,
        data: { x: [1, { y: null }] },
      }),
    ]);
    expect(result.body).not.toHaveProperty('extra');
    expect(result.body.changes[0]).not.toHaveProperty('junk');
  });

  it('keeps opaque data as it came: the same object, not a copy', () => {
    const data = { nested: { deep: [1, 2, 3] } };
    const result = parse({ changes: [{ table: 't', id: 'a', op: 'insert', data }] });
    expect(result.rows[0]!.data).toBe(data);
  });

  it.each([
    ['not an object', 'text', 'The request body must be a JSON object'],
    ['a change that is not an object', { changes: [5] }, 'changes.0 must be an object'],
    [
      'a NUL in an id',
      { changes: [{ table: 't', id: 'a\u0000', op: 'insert', data: {} }] },
      'changes.0.id contains a \\u0000 character, which cannot be stored',
    ],
    [
      'a lone surrogate in a table name',
      { changes: [{ table: 't\ud800', id: 'a', op: 'insert', data: {} }] },
      'changes.0.table is not well-formed Unicode (a lone surrogate)',
    ],
    [
      'fields that are not an object',
      { changes: [{ table: 't', id: 'a', op: 'update', fields: [] }] },
      'changes.0.fields must be an object',
    ],
  ])('refuses %s with an HTTP 400 of the envelope', (_, body, message) => {
    expect(() => parse(body)).toThrow(new BadRequestException(message));
  });

  it('refuses what the protocol does not support with a domain error (400 through the filter)', () => {
    const body = { schemaVersion: 3, changes: [] };
    expect(() => parse(body)).toThrow(InvalidInputError);
    expect(() => parse(body)).toThrow('schemaVersion 3 is not supported (max 2)');
    expect(() => parse({ since: 'soon', changes: [] })).toThrow(InvalidInputError);
  });

  it('bounds opaque JSON before anything walks it', () => {
    let deep: unknown = 1;
    for (let i = 0; i < 100; i++) deep = { a: deep };
    expect(() => parse({ changes: [{ table: 't', id: 'a', op: 'insert', data: deep }] })).toThrow(
      /^changes\[0\]\.data(\.a)+ is nested deeper than 64 levels$/,
    );
  });
});
