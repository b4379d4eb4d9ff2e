import { IncomingMessage, request as httpRequest } from 'http';
import { Readable } from 'stream';
import { readServerSentEvents, SyncClient as PackageClient } from '@sync-server/client';

export interface HttpResult<T = any> {
  status: number;
  body: T;
  headers: Headers;
}

/**
 * A mana-sync client speaking HTTP to the service over a real socket, raw:
 * tests of the protocol see every status and body. What a client of the
 * protocol does (following the cursor, reading events) is the client package's.
 */
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

  /** Pulls a collection page by page from `since` until hasMore is false (the client package's pullAll). */
  async pullAll(collection: string, since = '1970-01-01T00:00:00.000Z') {
    const client = new PackageClient({
      baseUrl: this.baseUrl,
      appId: this.appId,
      clientId: this.clientId,
      token: this.token,
      retry: { attempts: 1 },
    });
    const changes: any[] = [];
    let cursor = since;
    let pages = 0;
    for await (const page of client.pullAll(collection, since)) {
      changes.push(...page.changes);
      pages++;
      cursor = page.syncedUntil;
    }
    return { changes, cursor, pages };
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

/** The events of a raw HTTP response, read by the client package's event-stream reader. */
export class SseStream {
  readonly events: SseEvent[] = [];
  private waiters: (() => void)[] = [];
  ended = false;

  private constructor(
    readonly response: IncomingMessage,
    private readonly destroy: () => void,
  ) {
    void (async () => {
      try {
        const body = Readable.toWeb(response) as ReadableStream<Uint8Array>;
        for await (const { event, data } of readServerSentEvents(body)) {
          this.events.push({ event, data: data ? JSON.parse(data) : undefined, at: Date.now() });
          this.wake();
        }
      } catch {
        // destroyed by close(), or the connection was cut: the stream has ended either way
      }
      this.ended = true;
      this.wake();
    })();
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
