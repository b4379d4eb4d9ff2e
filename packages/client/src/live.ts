import type { SyncClient } from './client.js';
import {
  httpError,
  isRetryable,
  NetworkError,
  ServiceUnavailableError,
  SyncError,
  UnauthorizedError,
} from './errors.js';
import { sleep } from './retry.js';
import { readServerSentEvents } from './sse.js';
import { EPOCH, type ChangePage, type StreamChangesEvent, type WsServerMessage } from './types.js';

export type LiveMode = 'sse' | 'websocket';
export type LiveStatus = 'connecting' | 'live' | 'reconnecting' | 'closed';

export interface LiveOptions {
  /** Where to start: one cursor for every collection, or one per collection (default: the beginning). */
  since?: string | Readonly<Record<string, string | undefined>>;
  /** `sse` (default): the service's event stream; `websocket`: its hints, each followed by pulls. */
  mode?: LiveMode;
  /**
   * Reconnect when nothing arrived for this long (default 75 s; the stream's
   * heartbeat comes every 30 s, and the WebSocket is pinged every third of it).
   */
  idleTimeoutMs?: number;
  /** Every error: `willRetry` false means the subscription stopped on it. What it throws is ignored. */
  onError?: (error: unknown, willRetry: boolean) => void;
  onStatus?: (status: LiveStatus) => void;
  /** Aborting it closes the subscription. */
  signal?: AbortSignal;
}

export interface LiveSubscription {
  /** Each collection's cursor: the `syncedUntil` of its last page that `onChanges` finished. */
  readonly cursors: Readonly<Record<string, string>>;
  readonly status: LiveStatus;
  /** Resolves once the subscription ended: with undefined after `close()`, else with the error it stopped on. */
  readonly closed: Promise<unknown>;
  close(): void;
}

/** An error of the app's `onChanges`: it stops the subscription (the page's cursor is not taken). */
class HandlerFailure {
  constructor(readonly error: unknown) {}
}

/** Runs an app's observer (onError, onStatus); what it throws must not end the subscription's loop. */
function notify(observer: () => void): void {
  try {
    observer();
  } catch {
    // the app's own error, in its own callback
  }
}

/** The 38 digits of a cursor that are its log position (docs/cursor.md), or undefined for a plain time. */
const POSITION = /\.\d{3}(\d{38})Z$/;

/** The earliest of cursors that the service handed out. */
function earliest(cursors: string[]): string {
  return cursors.reduce((a, b) => {
    const pa = POSITION.exec(a)?.[1] ?? '';
    const pb = POSITION.exec(b)?.[1] ?? '';
    return pb < pa || (pb === pa && b < a) ? b : a;
  });
}

/** One `live()` subscription; see `SyncClient.live`. */
export class LiveSession implements LiveSubscription {
  private readonly collections: string[];
  private readonly cursorOf = new Map<string, string>();
  private readonly stop = new AbortController();
  private readonly mode: LiveMode;
  private readonly idleTimeoutMs: number;
  private current?: AbortController;
  private state: LiveStatus = 'connecting';
  private wentLive = false;
  private finish!: (result: unknown) => void;
  readonly closed: Promise<unknown>;

  constructor(
    private readonly client: SyncClient,
    collections: readonly string[],
    private readonly onChanges: (page: ChangePage) => void | Promise<void>,
    private readonly options: LiveOptions,
  ) {
    this.collections = [...new Set(collections)];
    if (this.collections.length === 0) throw new SyncError('live() needs at least one collection');
    const since = options.since;
    for (const table of this.collections) {
      const cursor = typeof since === 'string' ? since : since?.[table];
      this.cursorOf.set(table, cursor ?? EPOCH);
    }
    this.mode = options.mode ?? 'sse';
    this.idleTimeoutMs = options.idleTimeoutMs ?? 75_000;
    this.closed = new Promise((resolve) => (this.finish = resolve));
    if (options.signal?.aborted) {
      this.close();
      return;
    }
    options.signal?.addEventListener('abort', () => this.close(), { once: true });
    void this.run();
  }

  get cursors(): Readonly<Record<string, string>> {
    return Object.fromEntries(this.cursorOf);
  }

  get status(): LiveStatus {
    return this.state;
  }

  close(): void {
    if (this.stop.signal.aborted) return;
    this.stop.abort(new SyncError('closed'));
    this.current?.abort(this.stop.signal.reason);
    this.setStatus('closed');
    this.finish(undefined);
  }

  private setStatus(status: LiveStatus): void {
    if (this.state === status || this.state === 'closed') return;
    this.state = status;
    if (status === 'live') this.wentLive = true;
    notify(() => this.options.onStatus?.(status));
  }

  private async run(): Promise<void> {
    const retry = this.client.retryOptions;
    for (let failures = 0; !this.stop.signal.aborted;) {
      const attempt = new AbortController();
      this.current = attempt;
      this.wentLive = false;
      try {
        await (this.mode === 'sse' ? this.runStream(attempt) : this.runSocket(attempt));
      } catch (thrown) {
        if (this.stop.signal.aborted) break;
        const error = thrown instanceof HandlerFailure ? thrown.error : thrown;
        const recoverable =
          !(thrown instanceof HandlerFailure) &&
          (isRetryable(error) ||
            (error instanceof UnauthorizedError && this.client.refreshesToken));
        notify(() => this.options.onError?.(error, recoverable));
        if (!recoverable) {
          this.setStatus('closed');
          this.stop.abort(error);
          this.finish(error);
          return;
        }
      } finally {
        attempt.abort(new SyncError('attempt over'));
      }
      if (this.stop.signal.aborted) break;
      // A connection that went live starts the backoff over.
      failures = this.wentLive ? 0 : failures + 1;
      this.setStatus('reconnecting');
      const ceiling = Math.min(retry.maxDelayMs, retry.baseDelayMs * 2 ** Math.min(failures, 16));
      await sleep(Math.round(ceiling / 2 + (Math.random() * ceiling) / 2), this.stop.signal).catch(
        () => undefined,
      );
    }
  }

  /** Hands a page to the app; the cursor moves once the app is done with it. */
  private async deliver(page: ChangePage): Promise<void> {
    try {
      await this.onChanges(page);
    } catch (error) {
      throw new HandlerFailure(error);
    }
    this.cursorOf.set(page.table, page.syncedUntil);
  }

  /** Pulls a collection from its cursor to the end of the log. */
  private async catchUp(table: string, signal: AbortSignal, seen?: Set<string>): Promise<void> {
    for await (const page of this.client.pullAll(table, this.cursorOf.get(table), { signal })) {
      if (seen) for (const change of page.changes) seen.add(change.eventId);
      await this.deliver(page);
    }
  }

  /**
   * One connection of the event stream. The stream takes one `since` for all
   * collections. When the cursors differ (after a reconnect, they do), each
   * collection is first pulled from its own cursor; the stream then starts
   * from the earliest of the new cursors, and the changes of those pulls that
   * its catch-up sends again are left out (they can only be changes of these
   * pulls: every cursor handed out before is at or behind the new ones).
   */
  private async runStream(attempt: AbortController): Promise<void> {
    const signal = attempt.signal;
    let seen: Map<string, Set<string>> | undefined;
    const cursors = (): string[] => this.collections.map((t) => this.cursorOf.get(t)!);
    if (new Set(cursors()).size > 1) {
      seen = new Map();
      for (const table of this.collections) {
        const ids = new Set<string>();
        seen.set(table, ids);
        await this.catchUp(table, signal, ids);
      }
    }
    const since = earliest(cursors());
    for (const table of this.collections) {
      if (this.cursorOf.get(table) === since) seen?.delete(table);
    }

    let idle: ReturnType<typeof setTimeout> | undefined;
    const watch = (): void => {
      clearTimeout(idle);
      idle = setTimeout(
        () =>
          attempt.abort(new NetworkError(`the stream sent nothing for ${this.idleTimeoutMs} ms`)),
        this.idleTimeoutMs,
      );
    };
    watch();
    try {
      const response = await this.client.openStream(this.collections, since, signal);
      if (!response.body) throw new NetworkError('the stream has no body');
      const catchingUp = new Set(this.collections);
      try {
        for await (const event of readServerSentEvents(response.body)) {
          watch();
          if (event.event !== 'changes') continue;
          const data = JSON.parse(event.data) as StreamChangesEvent;
          if (!this.cursorOf.has(data.table)) continue;
          const ids = seen?.get(data.table);
          const changes = ids ? data.changes.filter((c) => !ids.has(c.eventId)) : data.changes;
          if (!data.hasMore) seen?.delete(data.table);
          await this.deliver({
            table: data.table,
            changes,
            syncedUntil: data.syncedUntil,
            hasMore: data.hasMore,
          });
          if (!data.hasMore && catchingUp.delete(data.table) && catchingUp.size === 0) {
            this.setStatus('live');
          }
        }
      } catch (error) {
        if (error instanceof HandlerFailure || signal.aborted) throw error;
        throw new NetworkError(`the stream broke off: ${String(error)}`, { cause: error });
      }
      throw new NetworkError('the stream ended');
    } catch (error) {
      if (signal.aborted && !(error instanceof HandlerFailure)) {
        const reason: unknown = signal.reason;
        throw reason instanceof SyncError ? reason : error;
      }
      throw error;
    } finally {
      clearTimeout(idle);
    }
  }

  /**
   * One WebSocket: authenticate, pull every collection, then pull the
   * collections each `sync-available` names (all of ours when it names none).
   * Hints lost while disconnected do not matter: a new socket pulls everything.
   */
  private async runSocket(attempt: AbortController): Promise<void> {
    const signal = attempt.signal;
    const WebSocketImpl = this.client.webSocketConstructor();
    const token = await this.client.token();
    const socket = new WebSocketImpl(this.client.webSocketUrl());
    const due = new Set<string>();
    let wake: (() => void) | undefined;
    let failure: unknown;
    let authError: string | undefined;
    let authenticated = false;
    let lastMessage = Date.now();
    const fail = (error: unknown): void => {
      failure ??= error;
      wake?.();
    };
    socket.onopen = () =>
      socket.send(
        JSON.stringify({ type: 'auth', token: token ?? '', clientId: this.client.clientId }),
      );
    socket.onmessage = (message: MessageEvent) => {
      lastMessage = Date.now();
      let parsed: WsServerMessage;
      try {
        parsed = JSON.parse(String(message.data)) as WsServerMessage;
      } catch {
        return;
      }
      if (parsed.type === 'auth-ok') {
        authenticated = true;
        for (const table of this.collections) due.add(table);
      } else if (parsed.type === 'sync-available') {
        const tables = parsed.tables.length > 0 ? parsed.tables : this.collections;
        for (const table of tables) if (this.cursorOf.has(table)) due.add(table);
      } else if (parsed.type === 'error' && !authenticated) {
        authError = parsed.message;
      }
      wake?.();
    };
    socket.onerror = () => undefined;
    socket.onclose = (event: { code: number; reason: string }) =>
      fail(closeError(event, authError));
    const onAbort = (): void => fail(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    const pinger = setInterval(
      () => {
        if (Date.now() - lastMessage > this.idleTimeoutMs) {
          fail(new NetworkError(`the WebSocket sent nothing for ${this.idleTimeoutMs} ms`));
        } else if (authenticated && socket.readyState === 1) {
          socket.send(JSON.stringify({ type: 'ping' }));
        }
      },
      Math.max(50, Math.floor(this.idleTimeoutMs / 3)),
    );
    try {
      for (;;) {
        if (failure !== undefined) throw failure;
        const table = due.values().next().value;
        if (table === undefined) {
          await new Promise<void>((resolve) => (wake = resolve));
          wake = undefined;
          continue;
        }
        due.delete(table);
        await this.catchUp(table, signal);
        if (authenticated && due.size === 0 && failure === undefined) this.setStatus('live');
      }
    } finally {
      clearInterval(pinger);
      signal.removeEventListener('abort', onAbort);
      socket.onclose = null;
      socket.onmessage = null;
      if (socket.readyState <= 1) socket.close(1000);
    }
  }
}

/** Why a socket closed, as the error of the request it stands for. */
function closeError(
  event: { code: number; reason: string },
  authError: string | undefined,
): SyncError {
  const body = (status: number, error: string, message: string) => ({
    statusCode: status,
    error,
    message,
  });
  if (event.code === 1008) {
    return httpError(401, body(401, 'Unauthorized', authError || event.reason || 'refused'));
  }
  if (event.code === 1013) {
    return new ServiceUnavailableError(
      503,
      body(503, 'Service Unavailable', event.reason || 'try again later'),
    );
  }
  return new NetworkError(
    `the WebSocket closed (${event.code}${event.reason ? ` ${event.reason}` : ''})`,
  );
}
