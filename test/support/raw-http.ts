import { connect, Socket } from 'net';

export interface RawResponse {
  status: number;
  /** Lower-cased names. */
  headers: Record<string, string>;
  body: string;
}

/**
 * One HTTP/1.1 connection written by hand (net.Socket): a client that declares
 * a body and sends it slowly, or never. Collects everything the server sends.
 */
export class RawHttpConnection {
  received = '';
  /** Bytes written after the request head. */
  bodyBytesSent = 0;
  /** Resolves when the server (or the client) closed the connection. */
  readonly closed: Promise<void>;
  private waiters: (() => void)[] = [];
  private trickle?: NodeJS.Timeout;

  private constructor(private readonly socket: Socket) {
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      this.received += chunk;
      this.wake();
    });
    socket.on('error', () => undefined);
    this.closed = new Promise((resolve) =>
      socket.on('close', () => {
        clearInterval(this.trickle);
        this.wake();
        resolve();
      }),
    );
  }

  /** `url` is the service's http:// URL. */
  static open(url: string): Promise<RawHttpConnection> {
    const { hostname, port } = new URL(url);
    return new Promise((resolve, reject) => {
      const socket = connect(Number(port), hostname, () => resolve(new RawHttpConnection(socket)));
      socket.once('error', reject);
    });
  }

  get isClosed(): boolean {
    return this.socket.destroyed || this.socket.readableEnded;
  }

  /** Writes the request line and headers (Host and a blank line added), one byte per character. */
  head(requestLine: string, headers: Record<string, string | number> = {}): this {
    const lines = [
      requestLine,
      'Host: localhost',
      ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`),
    ];
    this.socket.write(`${lines.join('\r\n')}\r\n\r\n`, 'latin1');
    return this;
  }

  send(body: string | Buffer): this {
    if (this.socket.destroyed) return this;
    this.socket.write(body);
    this.bodyBytesSent += Buffer.byteLength(body);
    return this;
  }

  /** Sends `bytesPerTick` bytes every `everyMs` until the connection closes or `total` bytes are sent. */
  trickleBody(total: number, bytesPerTick: number, everyMs: number): this {
    this.trickle = setInterval(() => {
      if (this.socket.destroyed || this.bodyBytesSent >= total) return clearInterval(this.trickle);
      this.send('x'.repeat(Math.min(bytesPerTick, total - this.bodyBytesSent)));
    }, everyMs);
    return this;
  }

  /** The first complete response (by Content-Length, or up to the close). */
  async response(timeoutMs = 10_000): Promise<RawResponse> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const parsed = this.parse(this.isClosed);
      if (parsed) return parsed;
      if (this.isClosed)
        throw new Error(`closed without a response: ${JSON.stringify(this.received)}`);
      const left = deadline - Date.now();
      if (left <= 0)
        throw new Error(`no response within ${timeoutMs} ms: ${JSON.stringify(this.received)}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** The status lines received so far (`100 Continue` included). */
  statusLines(): string[] {
    return [...this.received.matchAll(/^HTTP\/1\.1 \d{3}[^\r]*/gm)].map((m) => m[0]);
  }

  close(): void {
    clearInterval(this.trickle);
    this.socket.destroy();
  }

  private parse(closed: boolean): RawResponse | undefined {
    // Interim answers (100 Continue) come before the final one.
    const text = this.received.replace(/^(HTTP\/1\.1 1\d\d[^\r]*\r\n(?:[^\r]+\r\n)*\r\n)+/, '');
    const end = text.indexOf('\r\n\r\n');
    if (end < 0) return undefined;
    const [statusLine, ...headerLines] = text.slice(0, end).split('\r\n');
    const headers: Record<string, string> = {};
    for (const line of headerLines) {
      const colon = line.indexOf(':');
      headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
    }
    const rest = text.slice(end + 4);
    const length = headers['content-length'];
    if (length !== undefined && Buffer.byteLength(rest, 'latin1') < Number(length))
      return undefined;
    if (length === undefined && !closed) return undefined;
    const body = Buffer.from(
      length === undefined ? rest : rest.slice(0, Number(length)),
      'latin1',
    ).toString('utf8');
    return { status: Number(statusLine.split(' ')[1]), headers, body };
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }
}
