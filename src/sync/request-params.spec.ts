import { BadRequestException, ExecutionContext } from '@nestjs/common';
import { ROUTE_ARGS_METADATA } from '@nestjs/common/constants';
import { START } from '../store/log-position';
import { InvalidCursorError } from './sync-cursor';
import {
  ClientId,
  CollectionListPipe,
  CursorPipe,
  IdempotencyKeyPipe,
  RequiredClientIdPipe,
} from './request-params';

type Factory = (data: unknown, ctx: ExecutionContext) => unknown;

/** The function a parameter decorator reads the request with, as Nest calls it. */
function readerOf(decorate: ParameterDecorator): { factory: Factory; data: unknown } {
  class Route {
    handle(_value: unknown): void {}
  }
  decorate(Route.prototype, 'handle', 0);
  const args = Reflect.getMetadata(ROUTE_ARGS_METADATA, Route, 'handle') as Record<
    string,
    { factory: Factory; data: unknown }
  >;
  return Object.values(args)[0]!;
}

function contextOf(request: object): ExecutionContext {
  return { switchToHttp: () => ({ getRequest: () => request }) } as ExecutionContext;
}

describe('ClientId', () => {
  const read = (from: 'body' | 'query', request: object): unknown => {
    const { factory, data } = readerOf(ClientId(from));
    return factory(data, contextOf({ headers: {}, body: {}, query: {}, ...request }));
  };

  it('takes the header first, then the body (push) or the query (pull, stream)', () => {
    const both = {
      headers: { 'x-client-id': 'h' },
      body: { clientId: 'b' },
      query: { clientId: 'q' },
    };
    expect(read('body', both)).toBe('h');
    expect(read('query', both)).toBe('h');
    const noHeader = { body: { clientId: 'b' }, query: { clientId: 'q' } };
    expect(read('body', noHeader)).toBe('b');
    expect(read('query', noHeader)).toBe('q');
  });

  it('reads an empty header or clientId as none, and a non-string as none', () => {
    expect(read('body', { headers: { 'x-client-id': '' }, body: { clientId: 'b' } })).toBe('b');
    expect(
      read('body', { headers: { 'x-client-id': '' }, body: { clientId: '' } }),
    ).toBeUndefined();
    expect(read('body', { body: { clientId: 5 } })).toBeUndefined();
    expect(read('body', { body: 'text' })).toBeUndefined();
    expect(read('query', { query: { clientId: ['a', 'b'] } })).toBeUndefined();
  });
});

describe('RequiredClientIdPipe', () => {
  it('passes a client id and refuses none with the released message', () => {
    const pipe = new RequiredClientIdPipe();
    expect(pipe.transform('laptop')).toBe('laptop');
    expect(() => pipe.transform(undefined)).toThrow(
      new BadRequestException('clientId is required (body or X-Client-Id header)'),
    );
  });
});

describe('IdempotencyKeyPipe', () => {
  const pipe = new IdempotencyKeyPipe();

  it.each([undefined, 'k', '~!#', 'x'.repeat(200)])('passes %j', (key) => {
    expect(pipe.transform(key)).toBe(key);
  });

  it.each(['', 'with space', 'x'.repeat(201), 'ü', 'tab\t'])('refuses %j', (key) => {
    expect(() => pipe.transform(key)).toThrow(
      new BadRequestException('Idempotency-Key must be 1-200 visible ASCII characters'),
    );
  });
});

describe('CursorPipe', () => {
  const pipe = new CursorPipe();

  it('reads absent as the beginning and a time or a cursor as a position', () => {
    expect(pipe.transform(undefined)).toEqual({ position: START, timeMs: 0 });
    const cursor = `2026-11-27T12:00:00.000${'7'.padStart(19, '0')}${'3'.padStart(19, '0')}Z`;
    expect(pipe.transform(cursor).position).toEqual({ txId: 7n, seq: 3n });
    expect(pipe.transform('2026-01-01T00:00:00Z').createdAfter).toBe('2026-01-01T00:00:00Z');
  });

  it('refuses a bad since with a domain error (the filter answers 400)', () => {
    expect(() => pipe.transform('last tuesday')).toThrow(InvalidCursorError);
    expect(() => pipe.transform('last tuesday')).toThrow(
      'since must be a cursor or an ISO-8601 time, got "last tuesday"',
    );
  });

  it('leaves a since that is not a string to the query DTO', () => {
    expect(pipe.transform(['a', 'b'])).toEqual({ position: START, timeMs: 0 });
  });
});

describe('CollectionListPipe', () => {
  const pipe = new CollectionListPipe();

  it('splits, trims and keeps each name once, in order', () => {
    expect(pipe.transform(' tasks,notes ,,tasks')).toEqual(['tasks', 'notes']);
  });

  it('refuses an empty list and a name over 200 characters', () => {
    expect(() => pipe.transform(' , ')).toThrow(
      new BadRequestException('collections must name at least one'),
    );
    expect(() => pipe.transform(`a,${'x'.repeat(201)}`)).toThrow(
      /^collections: each name must be at most 200 characters \("x{20}…" is 201\)$/,
    );
  });

  it('leaves what the query DTO refuses to it (not a string, longer than 10,000)', () => {
    expect(pipe.transform(undefined)).toEqual([]);
    expect(pipe.transform(['a'])).toEqual([]);
    expect(pipe.transform('x'.repeat(10_001))).toEqual([]);
  });
});
