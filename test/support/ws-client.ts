import WebSocket from 'ws';

export interface WsMessage {
  type: string;
  [key: string]: any;
  /** Arrival time (Date.now()). */
  at: number;
}

/** A WebSocket client of the realtime endpoints over a real socket; collects what the server sends. */
export class WsTestClient {
  readonly messages: WsMessage[] = [];
  /** Resolves with the close code once the connection is closed (by either side). */
  readonly closed: Promise<{ code: number; reason: string }>;
  closeCode?: number;
  private waiters: (() => void)[] = [];

  private constructor(readonly socket: WebSocket) {
    socket.on('message', (data) => {
      this.messages.push({ ...JSON.parse(data.toString()), at: Date.now() });
      this.wake();
    });
    this.closed = new Promise((resolve) => {
      socket.on('close', (code, reason) => {
        this.closeCode = code;
        this.wake();
        resolve({ code, reason: reason.toString() });
      });
    });
    socket.on('error', () => undefined);
  }

  /** `baseUrl` is the service's http:// URL; `path` e.g. `/ws` or `/ws/todo`. */
  static open(
    baseUrl: string,
    path = '/ws',
    options: WebSocket.ClientOptions = {},
  ): Promise<WsTestClient> {
    const socket = new WebSocket(`${baseUrl.replace(/^http/, 'ws')}${path}`, options);
    const client = new WsTestClient(socket);
    return new Promise((resolve, reject) => {
      socket.once('open', () => resolve(client));
      socket.once('error', reject);
      socket.once('unexpected-response', (_req, res) =>
        reject(new Error(`upgrade refused: ${res.statusCode}`)),
      );
    });
  }

  /** Opens a socket and authenticates it; resolves once `auth-ok` arrived. */
  static async authenticated(
    baseUrl: string,
    token: string,
    path = '/ws',
    extra: Record<string, unknown> = {},
  ): Promise<WsTestClient> {
    const client = await WsTestClient.open(baseUrl, path);
    client.send({ type: 'auth', token, ...extra });
    await client.waitFor((m) => m.type === 'auth-ok' || m.type === 'error');
    const last = client.messages[client.messages.length - 1];
    if (last.type !== 'auth-ok') throw new Error(`auth failed: ${JSON.stringify(last)}`);
    return client;
  }

  send(message: unknown): void {
    this.socket.send(typeof message === 'string' ? message : JSON.stringify(message));
  }

  of(type: string): WsMessage[] {
    return this.messages.filter((m) => m.type === type);
  }

  /** Waits for a message matching `predicate` (already received ones count). */
  async waitFor(predicate: (message: WsMessage) => boolean, timeoutMs = 5000): Promise<WsMessage> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.messages.find(predicate);
      if (found) return found;
      const left = deadline - Date.now();
      if (left <= 0 || this.closeCode !== undefined) {
        throw new Error(
          `WebSocket: no matching message (closed: ${this.closeCode}); got ${JSON.stringify(this.messages)}`,
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
  }

  close(): void {
    this.socket.close();
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `condition` until it holds or the time is up. */
export async function until(
  condition: () => boolean | Promise<boolean>,
  timeoutMs = 3000,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await condition()) return true;
    if (Date.now() >= deadline) return false;
    await sleep(20);
  }
}
