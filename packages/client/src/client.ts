import { httpError, NetworkError, SyncError } from './errors.js';
import { newEventId } from './event-id.js';
import { LiveSession, type LiveOptions, type LiveSubscription } from './live.js';
import { DEFAULT_RETRY, retryDelay, sleep, type RetryOptions } from './retry.js';
import {
  EPOCH,
  type BackupImportResult,
  type Change,
  type ChangePage,
  type ErrorResponse,
  type PushRequest,
  type SyncResponse,
} from './types.js';

/** The platform's WebSocket constructor (browsers, Node >= 22), or one like it. */
export type WebSocketConstructor = new (url: string | URL) => WebSocket;

export interface SyncClientOptions {
  /** The service, e.g. `https://sync.example.com` (a path prefix is kept). */
  baseUrl: string;
  /** The app whose log this client reads and writes. */
  appId: string;
  /** This device: the service does not send a client its own changes. */
  clientId: string;
  /** The bearer token, or a function asked before every request (and reconnect). */
  token?: string | (() => string | undefined | Promise<string | undefined>);
  /** Retries of pushes, pulls and imports on 503, 429 and lost connections. */
  retry?: RetryOptions;
  /** Wire schema version of pushes (default: the service's default, 1). */
  schemaVersion?: number;
  /** Default: the platform's `fetch`. */
  fetch?: typeof fetch;
  /** Default: the platform's `WebSocket` (only `live` in WebSocket mode uses it). */
  WebSocket?: WebSocketConstructor;
}

export interface RequestOptions {
  signal?: AbortSignal;
}

export interface PushOptions extends RequestOptions {
  /** The cursor of the previous answer: the answer holds other clients' changes after it. */
  since?: string;
  /** Replays the first answer to a retry with the same key (protocol.md); eventIds suffice. */
  idempotencyKey?: string;
}

export interface PushResult extends SyncResponse {
  /** The changes as sent, each with its `eventId`. */
  sent: Change[];
}

export interface BackupDownload {
  /** The file name the service suggests. */
  fileName?: string;
  /** The zip, as it streams from the service. */
  body: ReadableStream<Uint8Array>;
}

/** A backup archive to restore: bytes, a Blob (a File), or a stream of bytes. */
export type BackupArchive = Blob | ArrayBuffer | Uint8Array | ReadableStream<Uint8Array>;

interface Call {
  method: 'GET' | 'POST';
  path: string;
  body?: RequestInit['body'];
  headers?: Record<string, string>;
  signal?: AbortSignal;
  /** Try again on 503, 429 and lost connections (with the same body). */
  retry: boolean;
}

/**
 * A client of one app of the sync service. It stores nothing: the app keeps
 * its records and its cursors (`syncedUntil` per collection), and hands the
 * cursors back to `pullAll` and `live`.
 */
export class SyncClient {
  readonly baseUrl: string;
  readonly appId: string;
  readonly clientId: string;
  private readonly options: SyncClientOptions;
  private readonly retry: Required<RetryOptions>;

  constructor(options: SyncClientOptions) {
    if (!options.clientId) throw new SyncError('clientId is required');
    if (!options.appId) throw new SyncError('appId is required');
    this.options = options;
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.appId = options.appId;
    this.clientId = options.clientId;
    this.retry = { ...DEFAULT_RETRY, ...options.retry };
  }

  /**
   * Stores `changes` atomically. Every change without an `eventId` gets one, so
   * a retry (on 503, 429 or a lost connection, after `Retry-After`) stores each
   * change once. The answer holds other clients' changes of every collection
   * after `since`; with `hasMore`, push `[]` from its `syncedUntil` for the rest.
   */
  async push(changes: readonly Change[], options: PushOptions = {}): Promise<PushResult> {
    const sent = changes.map((change) =>
      change.eventId ? { ...change } : { ...change, eventId: newEventId() },
    );
    const request: PushRequest = {
      clientId: this.clientId,
      since: options.since ?? EPOCH,
      changes: sent,
      ...(this.options.schemaVersion !== undefined && {
        schemaVersion: this.options.schemaVersion,
      }),
    };
    const answer = await this.json<SyncResponse>({
      method: 'POST',
      path: this.appPath(),
      body: JSON.stringify(request),
      headers: {
        'content-type': 'application/json',
        ...(options.idempotencyKey && { 'idempotency-key': options.idempotencyKey }),
      },
      signal: options.signal,
      retry: true,
    });
    return { ...answer, sent };
  }

  /** One page of a collection's changes after `since` (default: the beginning). */
  async pull(collection: string, since = EPOCH, options: RequestOptions = {}): Promise<ChangePage> {
    const query = new URLSearchParams({ collection, since });
    const answer = await this.json<SyncResponse>({
      method: 'GET',
      path: `${this.appPath()}/pull?${query}`,
      signal: options.signal,
      retry: true,
    });
    return {
      table: collection,
      changes: answer.serverChanges,
      syncedUntil: answer.syncedUntil,
      hasMore: answer.hasMore,
    };
  }

  /**
   * The pages of a collection from `since` until the end of the log, each read
   * from the previous page's `syncedUntil`. Keep the last page's `syncedUntil`
   * once its changes are applied: it is where the next pull starts.
   */
  async *pullAll(
    collection: string,
    since = EPOCH,
    options: RequestOptions = {},
  ): AsyncGenerator<ChangePage> {
    let cursor = since;
    for (;;) {
      const page = await this.pull(collection, cursor, options);
      yield page;
      if (!page.hasMore) return;
      cursor = page.syncedUntil;
    }
  }

  /**
   * Live changes of `collections`: a catch-up from `options.since`, then each
   * change another client pushes. `onChanges` gets one page at a time and the
   * next waits for its promise; a page's `syncedUntil` is that collection's
   * cursor once the page is applied. Reconnects from the last cursors after a
   * lost connection, with backoff, until `close()`; a change is delivered once.
   * Mode `sse` (default) reads `GET /sync/{appId}/stream` through `fetch`;
   * mode `websocket` pulls when the WebSocket says a collection changed.
   */
  live(
    collections: readonly string[],
    onChanges: (page: ChangePage) => void | Promise<void>,
    options: LiveOptions = {},
  ): LiveSubscription {
    return new LiveSession(this, collections, onChanges, options);
  }

  /** The user's whole change log as a zip (`events.jsonl`, `manifest.json`), streamed. */
  async exportBackup(options: RequestOptions = {}): Promise<BackupDownload> {
    const response = await this.send({
      method: 'GET',
      path: '/backup/export',
      signal: options.signal,
      retry: true,
    });
    const disposition = response.headers.get('content-disposition') ?? '';
    return {
      fileName: /filename="([^"]+)"/.exec(disposition)?.[1],
      body: response.body ?? new Blob([]).stream(),
    };
  }

  /**
   * Restores an archive of `exportBackup`. Events stored already are skipped,
   * so a retry (not made for a stream, which cannot be sent twice) is safe.
   */
  async importBackup(
    archive: BackupArchive,
    options: RequestOptions = {},
  ): Promise<BackupImportResult> {
    const stream = archive instanceof ReadableStream;
    return this.json<BackupImportResult>({
      method: 'POST',
      path: '/backup/import',
      body: archive as RequestInit['body'],
      headers: { 'content-type': 'application/zip' },
      signal: options.signal,
      retry: !stream,
    });
  }

  /** @internal The open SSE stream (live's sse mode). */
  async openStream(
    collections: readonly string[],
    since: string,
    signal: AbortSignal,
  ): Promise<Response> {
    const query = new URLSearchParams({ collections: collections.join(','), since });
    return this.send({
      method: 'GET',
      path: `${this.appPath()}/stream?${query}`,
      headers: { accept: 'text/event-stream' },
      signal,
      retry: false,
    });
  }

  /** @internal The WebSocket URL of this app (live's websocket mode). */
  webSocketUrl(): string {
    return `${this.baseUrl.replace(/^http/, 'ws')}/ws/${encodeURIComponent(this.appId)}`;
  }

  /** @internal */
  webSocketConstructor(): WebSocketConstructor {
    const constructor = this.options.WebSocket ?? globalThis.WebSocket;
    if (!constructor) throw new SyncError('no WebSocket here: pass options.WebSocket');
    return constructor;
  }

  /** @internal Whether a token function may give a new token after a 401. */
  get refreshesToken(): boolean {
    return typeof this.options.token === 'function';
  }

  /** @internal */
  get retryOptions(): Required<RetryOptions> {
    return this.retry;
  }

  /** @internal */
  async token(): Promise<string | undefined> {
    const token = this.options.token;
    return typeof token === 'function' ? token() : token;
  }

  private appPath(): string {
    return `/sync/${encodeURIComponent(this.appId)}`;
  }

  private async json<T>(call: Call): Promise<T> {
    return this.withRetries(call, async () => {
      const response = await this.once(call);
      try {
        return (await response.json()) as T;
      } catch (error) {
        throw new NetworkError(`${call.method} ${call.path}: the answer broke off`, {
          cause: error,
        });
      }
    });
  }

  private send(call: Call): Promise<Response> {
    return this.withRetries(call, () => this.once(call));
  }

  private async withRetries<T>(call: Call, attempt: () => Promise<T>): Promise<T> {
    for (let tries = 0; ; tries++) {
      try {
        return await attempt();
      } catch (error) {
        if (call.signal?.aborted) throw call.signal.reason;
        const delay = call.retry ? retryDelay(error, tries, this.retry) : undefined;
        if (delay === undefined) throw error;
        await sleep(delay, call.signal);
      }
    }
  }

  /** One request: the answer when it is a 2xx, else the typed error. */
  private async once(call: Call): Promise<Response> {
    const token = await this.token();
    const headers: Record<string, string> = {
      'x-client-id': this.clientId,
      ...(token && { authorization: `Bearer ${token}` }),
      ...call.headers,
    };
    const fetchImpl = this.options.fetch ?? globalThis.fetch;
    let response: Response;
    try {
      response = await fetchImpl(`${this.baseUrl}${call.path}`, {
        method: call.method,
        headers,
        body: call.body,
        signal: call.signal,
        // A stream body is sent as it is read (fetch needs to be told).
        ...(call.body instanceof ReadableStream && { duplex: 'half' }),
      } as RequestInit);
    } catch (error) {
      if (call.signal?.aborted) throw call.signal.reason;
      throw new NetworkError(`${call.method} ${call.path}: ${describe(error)}`, { cause: error });
    }
    if (response.ok) return response;
    let text = '';
    try {
      text = await response.text();
    } catch {
      // The error's status is known; its body is a bonus.
    }
    throw httpError(response.status, parseError(text), response.headers);
  }
}

function parseError(text: string): ErrorResponse | string {
  try {
    const body: unknown = JSON.parse(text);
    if (body && typeof body === 'object' && 'message' in body) return body as ErrorResponse;
  } catch {
    // not JSON
  }
  return text;
}

function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = (error as { cause?: unknown }).cause;
  return cause instanceof Error ? `${error.message} (${cause.message})` : error.message;
}
