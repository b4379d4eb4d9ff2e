import { seededRandom, type Random } from '../../test/support/seeded-random';
import { canonicalNumber, changeDataSpans } from './json-source';

/** SEED=<n> replays a run. */
const seed = process.env.SEED ? Number(process.env.SEED) : Math.floor(Math.random() * 2 ** 31);

const pick = <T>(random: Random, items: readonly T[]): T =>
  items[Math.floor(random() * items.length)]!;

/** JSON whitespace, mostly none. */
function space(random: Random): string {
  return random() < 0.7 ? '' : pick(random, [' ', '\n', '\t', '\r\n  ', '   ']);
}

/** A string's text, in any of JSON's spellings of its characters. */
function stringText(random: Random, plain?: string): string {
  if (plain !== undefined && random() < 0.6) return JSON.stringify(plain);
  const chars =
    plain !== undefined
      ? [...plain]
      : Array.from({ length: Math.floor(random() * 6) }, () =>
          pick(random, ['a', 'Z', ' ', '"', '\\', '/', '\n', 'é', '€', '😀', ':', ',', '{', ']']),
        );
  let text = '"';
  for (const c of chars) {
    const r = random();
    if (c === '"' || c === '\\') text += `\\${c}`;
    else if (c === '\n') text += r < 0.5 ? '\\n' : '\\u000a';
    else if (c === '/' && r < 0.5) text += '\\/';
    else if (r < 0.25)
      text += [...c]
        .map((_, i) => `\\u${c.charCodeAt(i).toString(16).padStart(4, '0')}`)
        .join('')
        .slice(0, c.length * 6);
    else text += c;
  }
  // Now and then a lone surrogate or a backslash run before the closing quote.
  if (random() < 0.05) text += '\\ud800';
  if (random() < 0.05) text += '\\\\\\\\';
  return `${text}"`;
}

/** A number's text: often JavaScript's own spelling, often another one of the same value. */
function numberText(random: Random): string {
  return pick(random, [
    () => String(Math.floor(random() * 1000) - 500),
    () => String(random() * 10 ** Math.floor(random() * 30 - 10)),
    () => '-0',
    () => '0',
    () => '1.0',
    () => '1.50',
    () => '1e2',
    () => '1E+2',
    () => '100',
    () => '1e21',
    () => '1e+21',
    () => '12345678901234567890',
    () => '123456789012345',
    () => '1234567890123456',
    () => '-0.0',
    () => '0.1',
    () => '5e-324',
    () => String(Number.MAX_SAFE_INTEGER),
  ])();
}

/** A random JSON value's text, up to `depth` levels of containers. */
function valueText(random: Random, depth: number): string {
  const r = random();
  if (depth <= 0 || r < 0.35) {
    return pick(random, [
      () => numberText(random),
      () => stringText(random),
      () => pick(random, ['true', 'false', 'null']),
    ])();
  }
  if (r < 0.7) return objectText(random, depth - 1, []);
  const items = Array.from({ length: Math.floor(random() * 4) }, () =>
    valueText(random, depth - 1),
  );
  return `[${space(random)}${items.join(`${space(random)},${space(random)}`)}${space(random)}]`;
}

function objectText(random: Random, depth: number, members: [string, string][]): string {
  const all: [string, string][] = [...members];
  const extra = Math.floor(random() * 4);
  // Keys of its own are not repeated: a repeated key hides the value before it from the
  // reviver that says which numbers are stored alike. `data` and `changes` given in
  // `members` may repeat one of them: the last counts.
  const used = new Set<string>();
  for (let i = 0; i < extra; i++) {
    const key = pick(random, ['a', 'data', 'changes', 'x"y', '', '__proto__', 'dat', 'datas']);
    if (used.has(key)) continue;
    used.add(key);
    all.splice(Math.floor(random() * (all.length + 1)), 0, [
      stringText(random, key),
      valueText(random, depth),
    ]);
  }
  const text = all.map(([k, v]) => `${k}${space(random)}:${space(random)}${v}`);
  return `{${space(random)}${text.join(`${space(random)},${space(random)}`)}${space(random)}}`;
}

/** A push body: an object whose `changes` (maybe twice, maybe no array) hold changes with `data`. */
function pushText(random: Random): string {
  const changes = (): string => {
    if (random() < 0.1) return valueText(random, 2);
    const items = Array.from({ length: Math.floor(random() * 5) }, () => {
      if (random() < 0.1) return valueText(random, 1);
      const members: [string, string][] = [['"op"', '"insert"']];
      const dataCount = random() < 0.15 ? 2 : random() < 0.9 ? 1 : 0;
      for (let i = 0; i < dataCount; i++) {
        const value = random() < 0.85 ? objectText(random, 3, []) : valueText(random, 2);
        members.push([stringText(random, 'data'), value]);
      }
      return objectText(random, 1, members);
    });
    return `[${space(random)}${items.join(`${space(random)},${space(random)}`)}${space(random)}]`;
  };
  const members: [string, string][] = [[stringText(random, 'changes'), changes()]];
  if (random() < 0.1) members.push([stringText(random, 'changes'), changes()]);
  return `${space(random)}${objectText(random, 2, members)}${space(random)}`;
}

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * What changeDataSpans must find, from JSON.parse alone: for each change, whether its `data`
 * is an object whose numbers are all in JSON.stringify's spelling (a reviver with the
 * source text of each number says so), and that `data` itself.
 */
function expected(text: string): { data: unknown; alike: boolean }[] | undefined {
  const notAlike = new WeakSet<object>();
  const parsed: unknown = JSON.parse(
    text,
    function (this: object, _key: string, value: unknown, context?: { source?: string }) {
      if (typeof value === 'number' && JSON.stringify(value) !== context?.source) {
        notAlike.add(this);
      }
      if (typeof value === 'object' && value !== null && notAlike.has(value)) notAlike.add(this);
      return value;
    },
  );
  if (!isPlainObject(parsed) || !Array.isArray(parsed.changes)) return undefined;
  return parsed.changes.map((change: unknown) => {
    const data = isPlainObject(change) ? change.data : undefined;
    return { data, alike: isPlainObject(data) && !notAlike.has(data) };
  });
}

function check(text: string, bytes: Buffer, at: string): void {
  const want = expected(text);
  const got = changeDataSpans(bytes);
  const fail = (why: string): never => {
    throw new Error(`SEED=${seed} ${at}: ${why}\n${text}\ngot ${JSON.stringify(got)}`);
  };
  if (want === undefined) {
    if (got !== undefined) fail('found spans in a body without a changes array');
    return;
  }
  if (got === undefined || got.length !== want.length) return fail('wrong number of changes');
  want.forEach(({ data, alike }, i) => {
    const span = got[i];
    if (!alike) {
      if (span !== undefined) fail(`change ${i}: a span for data that is not stored alike`);
      return;
    }
    if (span === undefined) return fail(`change ${i}: no span`);
    const slice = bytes.subarray(span.start, span.end).toString('utf8');
    // The same value, keys in the same order: the slice is the text JSON.parse read it from.
    if (JSON.stringify(JSON.parse(slice)) !== JSON.stringify(data)) {
      fail(`change ${i}: the span ${slice} is not its data`);
    }
  });
}

describe(`changeDataSpans (SEED=${seed})`, () => {
  it('finds each change’s data as JSON.parse reads it, and only where storing the text stores the same', () => {
    const random = seededRandom(seed);
    for (let i = 0; i < 5_000; i++) {
      const text = pushText(random);
      const bom = random() < 0.1;
      const bytes = Buffer.concat([
        Buffer.from(bom ? [0xef, 0xbb, 0xbf] : []),
        Buffer.from(text, 'utf8'),
      ]);
      check(text, bytes, `case ${i}`);
    }
  });

  it('ends without throwing on text JSON.parse refuses, and agrees with it where a change left it valid', () => {
    const random = seededRandom(seed + 1);
    const bytesOf = [0x22, 0x5c, 0x7b, 0x7d, 0x5b, 0x5d, 0x2c, 0x3a, 0x20, 0x31, 0x2d, 0x61];
    for (let i = 0; i < 5_000; i++) {
      const bytes = Buffer.from(pushText(random), 'utf8');
      const edits = 1 + Math.floor(random() * 3);
      let mutated = bytes;
      for (let e = 0; e < edits; e++) {
        const at = Math.floor(random() * (mutated.length + 1));
        const r = random();
        mutated =
          r < 0.3
            ? Buffer.concat([mutated.subarray(0, at), mutated.subarray(at + 1)])
            : r < 0.7
              ? Buffer.concat([
                  mutated.subarray(0, at),
                  Buffer.from([pick(random, bytesOf)]),
                  mutated.subarray(at),
                ])
              : mutated.subarray(0, at);
      }
      const text = mutated.toString('utf8');
      let valid = true;
      try {
        JSON.parse(text);
      } catch {
        valid = false;
      }
      if (valid && Buffer.from(text, 'utf8').equals(mutated)) {
        check(text, mutated, `mutated case ${i}`);
      } else {
        expect(() => changeDataSpans(mutated)).not.toThrow();
      }
    }
  });

  it('reads keys by their decoded text, and the last of duplicates', () => {
    const body = Buffer.from(
      '{"changes":[{"d\\u0061ta":{"a":1},"data":{"b":2}},{"data":{"c":3},"data":null},{"dat\\u0061":{"n":1.0}}],"ch\\u0061nges":[{"data":{"z":1}}]}',
    );
    const spans = changeDataSpans(body)!;
    expect(spans.map((s) => s && body.subarray(s.start, s.end).toString())).toEqual(['{"z":1}']);
  });
});

describe(`canonicalNumber (SEED=${seed})`, () => {
  it('is true exactly when JSON.stringify writes the number’s value as it is written', () => {
    const random = seededRandom(seed + 2);
    for (let i = 0; i < 20_000; i++) {
      const digits = Array.from({ length: 1 + Math.floor(random() * 20) }, () =>
        pick(random, '0123456789'.split('')),
      ).join('');
      const text = pick(random, [
        () => digits,
        () => `-${digits}`,
        () => `${digits}.${digits.slice(0, 3)}`,
        () => `${digits}e${Math.floor(random() * 40) - 20}`,
        () => String(random() * 10 ** Math.floor(random() * 40 - 20)),
        () => String(-random() * 10 ** Math.floor(random() * 40 - 20)),
      ])();
      if (!/^-?(0|[1-9]\d*)(\.\d+)?([eE][-+]?\d+)?$/.test(text)) continue;
      const bytes = Buffer.from(text);
      const want = JSON.stringify(Number(text)) === text;
      if (canonicalNumber(bytes, 0, bytes.length) !== want) {
        throw new Error(`SEED=${seed} case ${i}: ${text} should be ${want}`);
      }
    }
  });
});
