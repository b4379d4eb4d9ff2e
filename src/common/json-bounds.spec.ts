import { describeJsonBoundsProblem, findJsonBoundsProblem, MAX_JSON_DEPTH } from './json-bounds';

function nested(depth: number): unknown {
  let v: unknown = 1;
  for (let i = 0; i < depth; i++) v = i % 2 ? [v] : { a: v };
  return v;
}

describe('findJsonBoundsProblem', () => {
  it('accepts ordinary records and scalars', () => {
    expect(
      findJsonBoundsProblem({ title: 'x', tags: ['a', 'b'], n: 1.5, ok: true, z: null }),
    ).toBeUndefined();
    expect(findJsonBoundsProblem('text')).toBeUndefined();
    expect(findJsonBoundsProblem(null)).toBeUndefined();
  });

  it('accepts exactly the maximum depth and refuses one more', () => {
    expect(findJsonBoundsProblem(nested(MAX_JSON_DEPTH))).toBeUndefined();
    expect(findJsonBoundsProblem(nested(MAX_JSON_DEPTH + 1))).toMatchObject({ kind: 'depth' });
  });

  it('walks 100,000 levels without overflowing the stack', () => {
    expect(findJsonBoundsProblem(nested(100_000))).toMatchObject({ kind: 'depth' });
  });

  it('refuses non-finite numbers and NUL characters, naming where', () => {
    const problem = findJsonBoundsProblem(JSON.parse('{"a":[1,{"b":1e400}]}'));
    expect(problem).toEqual({ kind: 'non-finite-number', path: '.a[1].b' });
    expect(describeJsonBoundsProblem(problem!, 'data')).toMatch(/^data\.a\[1\]\.b /);
    expect(findJsonBoundsProblem({ s: 'x\u0000y' })).toEqual({ kind: 'nul-character', path: '.s' });
    expect(findJsonBoundsProblem({ 'k\u0000': 1 })).toMatchObject({ kind: 'nul-character' });
  });
});
