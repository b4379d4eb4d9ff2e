/** One server-sent event. */
export interface ServerSentEvent {
  /** `message` when the event named none. */
  event: string;
  data: string;
  id?: string;
}

/**
 * Reads server-sent events from a response body (the HTML Living Standard's
 * event-stream format: lines ending in LF, CRLF or CR; `event:`, `data:` and
 * `id:` fields; `:` comments; an empty line dispatches). A line is searched for
 * its end only in the new text, so a multi-megabyte event costs its length
 * once, not once per chunk.
 */
export async function* readServerSentEvents(
  body: ReadableStream<Uint8Array>,
): AsyncGenerator<ServerSentEvent> {
  const decoder = new TextDecoder();
  const reader = body.getReader();
  let pieces: string[] = [];
  let event = '';
  let data: string[] = [];
  let id: string | undefined;
  let afterCr = false;
  let finished = false;

  function* line(text: string): Generator<ServerSentEvent> {
    if (text === '') {
      if (data.length > 0) yield { event: event || 'message', data: data.join('\n'), id };
      event = '';
      data = [];
      return;
    }
    if (text.startsWith(':')) return;
    const colon = text.indexOf(':');
    const field = colon < 0 ? text : text.slice(0, colon);
    let value = colon < 0 ? '' : text.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'event') event = value;
    else if (field === 'data') data.push(value);
    else if (field === 'id' && !value.includes('\0')) id = value;
  }

  try {
    for (;;) {
      const { done, value } = await reader.read();
      let text = done ? decoder.decode() : decoder.decode(value, { stream: true });
      // A CRLF split across two chunks: the LF belongs to the CR already handled.
      if (afterCr && text.startsWith('\n')) text = text.slice(1);
      afterCr = false;
      let start = 0;
      for (let i = 0; i < text.length; i++) {
        const c = text.charCodeAt(i);
        if (c !== 10 && c !== 13) continue;
        pieces.push(text.slice(start, i));
        const complete = pieces.join('');
        pieces = [];
        yield* line(complete);
        if (c === 13) {
          if (i + 1 < text.length) {
            if (text.charCodeAt(i + 1) === 10) i++;
          } else {
            afterCr = true;
          }
        }
        start = i + 1;
      }
      if (start < text.length) pieces.push(text.slice(start));
      if (done) {
        finished = true;
        return;
      }
    }
  } finally {
    // Left early (the consumer stopped): the rest of the body is not wanted.
    if (!finished) await reader.cancel().catch(() => undefined);
    reader.releaseLock();
  }
}
