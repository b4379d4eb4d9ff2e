import { IncomingMessage, request as httpRequest } from 'http';

export interface HttpResult<T = any> {
  status: number;
  body: T;
  headers: Headers;
}

/** A mana-sync client speaking HTTP to the service over a real socket. */
export class SyncClient {
  constructor(
    readonly baseUrl: string,
    readonly token: string | undefined,
    readonly clientId: string,
    readonly appId = 'todo',
  ) {}

  async push(
    changes: unknown[],
    since?: string,
    extra: Record<string, unknown> = {},
  ): Promise<HttpResult> {
    return this.request('POST', `/sync/${this.appId}`, {
      clientId: this.clientId,
      since: since ?? '1970-01-01T00:00:00.000Z',
      changes,
      ...extra,
    });
  }

  async pull(collection: string, since?: string): Promise<HttpResult> {
    const query = new URLSearchParams({ collection });
    if (since !== undefined) query.set('since', since);
    return this.request('GET', `/sync/${this.appId}/pull?${query}`);
  }

  /** Pulls a collection page by page from `since` until hasMore is false. */
  async pullAll(collection: string, since = '1970-01-01T00:00:00.000Z') {
    const changes: any[] = [];
    let cursor = since;
    let pages = 0;
    for (;;) {
      const { status, body } = await this.pull(collection, cursor);
      if (status !== 200) throw new Error(`pull failed: ${status} ${JSON.stringify(body)}`);
      changes.push(...body.serverChanges);
      pages++;
      cursor = body.syncedUntil;
      if (!body.hasMore) return { changes, cursor, pages };
    }
  }

  async request(
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ) {
    const response = await fetch(`${this.baseUrl}${path}`, {
      method,
      headers: {
        ...(this.token ? { authorization: `Bearer ${this.token}` } : {}),
        'x-client-id': this.clientId,
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        ...headers,
      },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await response.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      // not JSON: keep the text
    }
    return { status: response.status, body: parsed as any, headers: response.headers };
  }

  /** Opens the SSE stream and collects its events. */
  stream(collections: string[], since?: string): Promise<SseStream> {
    const query = new URLSearchParams({ collections: collections.join(',') });
    if (since) query.set('since', since);
    return SseStream.open(`${this.baseUrl}/sync/${this.appId}/stream?${query}`, {
      authorization: `Bearer ${this.token}`,
      'x-client-id': this.clientId,
    });
  }
}

export interface SseEvent {
  event: string;
  data: any;
  at: number;
}

/** A server-sent-events reader on a raw HTTP response. */
export class SseStream {
  readonly events: SseEvent[] = [];
  private waiters: (() => void)[] = [];
  ended = false;

  private constructor(
    readonly response: IncomingMessage,
    private readonly destroy: () => void,
  ) {
    let buffer = '';
    response.setEncoding('utf8');
    response.on('data', (chunk: string) => {
      buffer += chunk;
      let split: number;
      while ((split = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, split);
        buffer = buffer.slice(split + 2);
        const event = /^event: (.*)$/m.exec(block)?.[1] ?? 'message';
        const data = /^data: (.*)$/m.exec(block)?.[1];
        this.events.push({ event, data: data ? JSON.parse(data) : undefined, at: Date.now() });
        this.wake();
      }
    });
    response.on('end', () => {
      this.ended = true;
      this.wake();
    });
  }

  static open(url: string, headers: Record<string, string>): Promise<SseStream> {
    return new Promise((resolve, reject) => {
      const req = httpRequest(url, { headers }, (res) =>
        resolve(new SseStream(res, () => req.destroy())),
      );
      req.on('error', reject);
      req.end();
    });
  }

  /** Waits until `predicate` holds for the events so far. */
  async waitFor(predicate: (events: SseEvent[]) => boolean, timeoutMs = 5000): Promise<SseEvent[]> {
    const deadline = Date.now() + timeoutMs;
    while (!predicate(this.events)) {
      const left = deadline - Date.now();
      if (left <= 0 || this.ended) {
        throw new Error(
          `SSE: condition not met; events: ${JSON.stringify(this.events).slice(0, 2000)}`,
        );
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return this.events;
  }

  close(): void {
    this.destroy();
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }
}
