import { isUtf8 } from 'buffer';
import { seededRandom } from '../../test/support/seeded-random';
import { decodeQueryText } from './query-text.middleware';

/** SEED=<n> replays a run. */
const seed = process.env.SEED ? Number(process.env.SEED) : Math.floor(Math.random() * 2 ** 31);

/** Bytes a client could put into a query value, mostly near the edges of UTF-8. */
function randomBytes(random: () => number): Buffer {
  const interesting = [
    0x00, 0x25, 0x2b, 0x41, 0x7f, 0x80, 0xbf, 0xc0, 0xc3, 0xe2, 0xed, 0xa0, 0xf0, 0xf4, 0xff,
  ];
  const length = Math.floor(random() * 8);
  return Buffer.from(
    Array.from({ length }, () =>
      random() < 0.6
        ? interesting[Math.floor(random() * interesting.length)]!
        : Math.floor(random() * 256),
    ),
  );
}

describe(`decodeQueryText (SEED=${seed})`, () => {
  it('takes a percent-encoded value exactly when its bytes are UTF-8 without NUL, and reads it as UTF-8', () => {
    const random = seededRandom(seed);
    for (let i = 0; i < 20_000; i++) {
      const bytes = randomBytes(random);
      const encoded = [...bytes].map((b) => `%${b.toString(16).padStart(2, '0')}`).join('');
      const decoded = decodeQueryText(encoded);
      const text = isUtf8(bytes) && !bytes.includes(0) ? bytes.toString('utf8') : undefined;
      const got = decoded.problem === undefined ? decoded.text : undefined;
      if (got !== text) {
        throw new Error(`SEED=${seed} case ${i}: ${encoded} gave ${JSON.stringify(decoded)}`);
      }
    }
  });

  it('reads + as a space and a % that starts no escape as itself, as node:querystring does', () => {
    expect(decodeQueryText('a+b')).toEqual({ text: 'a b' });
    expect(decodeQueryText('100%')).toEqual({ text: '100%' });
    expect(decodeQueryText('%zz%41')).toEqual({ text: '%zzA' });
    expect(decodeQueryText('%ED%A0%80').problem).toMatch(/not UTF-8/);
    expect(decodeQueryText('a%00').problem).toMatch(/\\u0000/);
  });
});
