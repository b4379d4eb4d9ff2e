import { JsonText, textOf } from './json-text';

describe('JsonText', () => {
  const items = ['{"a":1}', '"ü😀"', 'x'.repeat(100), '[]', 'y'.repeat(30)];

  it('writes prefix, items joined by commas and suffix, whatever the chunk size', () => {
    const text = new JsonText('{"list":[', items, '],"n":5}');
    const whole = `{"list":[${items.join(',')}],"n":5}`;
    expect(text.toString()).toBe(whole);
    for (const size of [1, 8, 50, 64 * 1024]) expect([...text.chunks(size)].join('')).toBe(whole);
    expect(text.byteLength).toBe(Buffer.byteLength(whole));
    expect(new JsonText('[', [], ']').byteLength).toBe(2);
  });

  it('joins small items into chunks and passes a large one on by itself', () => {
    const chunks = [...new JsonText('[', items, ']').chunks(50)];
    expect(chunks).toContain(items[2]);
    expect(chunks.length).toBeLessThan(items.length + 2);
  });

  it('frames the same items', () => {
    const framed = new JsonText('{"c":[', ['1', '2'], ']}').framed('data: ', '\n\n');
    expect(framed.toString()).toBe('data: {"c":[1,2]}\n\n');
  });

  it('writes an item of UTF-8 pieces as its bytes, also when a piece ends inside a character', () => {
    const long = '"' + 'ü😀a'.repeat(20) + '"';
    const bytes = Buffer.from(long);
    const pieces = [bytes.subarray(0, 3), bytes.subarray(3, 10), bytes.subarray(10)];
    const text = new JsonText('[', ['1', pieces, '2'], ']');
    const whole = `[1,${long},2]`;
    expect(textOf(pieces)).toBe(long);
    expect(text.toString()).toBe(whole);
    expect(text.byteLength).toBe(Buffer.byteLength(whole));
    for (const size of [1, 4, 64 * 1024]) {
      const chunks = [...text.chunks(size)];
      expect(chunks).toEqual(expect.arrayContaining(pieces));
      expect(
        Buffer.concat(chunks.map((c) => (typeof c === 'string' ? Buffer.from(c) : c))),
      ).toEqual(Buffer.from(whole));
    }
  });
});
