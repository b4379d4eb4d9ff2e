import { JsonText } from './json-text';

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
});
