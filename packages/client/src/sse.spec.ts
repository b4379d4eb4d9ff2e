import { seededRandom } from '../../../test/support/seeded-random';
import { readServerSentEvents, type ServerSentEvent } from './sse';

const seed = process.env.SEED ? Number(process.env.SEED) : Math.floor(Math.random() * 2 ** 31);

async function parse(chunks: Uint8Array[]): Promise<ServerSentEvent[]> {
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(chunk);
      controller.close();
    },
  });
  const events: ServerSentEvent[] = [];
  for await (const event of readServerSentEvents(body)) events.push(event);
  return events;
}

describe(`readServerSentEvents (SEED=${seed})`, () => {
  it('reads what the service writes', async () => {
    const text =
      'event: changes\ndata: {"table":"tasks","changes":[]}\n\n' +
      'event: heartbeat\ndata: {"time":"2026-12-01T00:00:00.000Z"}\n\n';
    expect(await parse([new TextEncoder().encode(text)])).toEqual([
      { event: 'changes', data: '{"table":"tasks","changes":[]}', id: undefined },
      { event: 'heartbeat', data: '{"time":"2026-12-01T00:00:00.000Z"}', id: undefined },
    ]);
  });

  it('follows the format: comments, multi-line data, ids, fields without a value, no trailing blank line', async () => {
    const text =
      ': a comment\r\nid: 7\r\ndata\r\ndata: a\r\ndata:b\r\n\r\n' +
      'event: x\rdata:  two spaces\r\r' +
      'event: ignored without data\n\n' +
      'data: unterminated';
    expect(await parse([new TextEncoder().encode(text)])).toEqual([
      { event: 'message', data: '\na\nb', id: '7' },
      { event: 'x', data: ' two spaces', id: '7' },
    ]);
  });

  it('reads any event stream the same however it is cut into chunks', async () => {
    const random = seededRandom(seed);
    const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)];
    const pieces = ['a', 'é', '€', '😀', '{"x":1}', ' ', ':', 'data', '\u0000'];
    for (let round = 0; round < 200; round++) {
      const expected: ServerSentEvent[] = [];
      let text = '';
      let id: string | undefined;
      for (let e = 0, count = 1 + Math.floor(random() * 6); e < count; e++) {
        const eol = pick(['\n', '\r\n', '\r']);
        if (random() < 0.3) text += `: ${pick(pieces)}${eol}`;
        const name = random() < 0.5 ? pick(['changes', 'heartbeat', 'x y']) : undefined;
        if (name) text += `event: ${name}${eol}`;
        if (random() < 0.3) {
          id = `${round}-${e}`;
          text += `id: ${id}${eol}`;
        }
        const lines = Array.from({ length: 1 + Math.floor(random() * 3) }, () =>
          Array.from({ length: Math.floor(random() * 40) }, () => pick(pieces)).join(''),
        );
        for (const line of lines) text += `data: ${line}${eol}`;
        text += eol;
        expected.push({ event: name ?? 'message', data: lines.join('\n'), id });
      }
      const bytes = new TextEncoder().encode(text);
      const chunks: Uint8Array[] = [];
      for (let at = 0; at < bytes.length;) {
        const size = 1 + Math.floor(random() * 12);
        chunks.push(bytes.subarray(at, at + size));
        at += size;
      }
      const got = await parse(chunks);
      if (JSON.stringify(got) !== JSON.stringify(expected)) {
        throw new Error(`SEED=${seed} round ${round}: ${JSON.stringify(text)}`);
      }
    }
  });

  it('cancels the body when the reader stops early', async () => {
    let cancelled = false;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        controller.enqueue(new TextEncoder().encode('data: 1\n\n'));
      },
      cancel() {
        cancelled = true;
      },
    });
    for await (const event of readServerSentEvents(body)) {
      expect(event.data).toBe('1');
      break;
    }
    expect(cancelled).toBe(true);
  });
});
