import { createServer as createHttpServer, IncomingMessage, request, Server } from 'http';
import { AddressInfo, createServer as createTcpServer, connect, Socket } from 'net';

/** What the HTTP proxy does with the next request. */
export type Fault =
  /** Answers this status itself (with Retry-After when given); the service never sees the request. */
  | { status: number; retryAfter?: string }
  /** Forwards the request, lets the service answer, and cuts the connection instead of answering. */
  | 'lose-answer';

/**
 * A real HTTP proxy on 127.0.0.1 in front of the service that makes the
 * failures a client must survive: answers it makes up (503, 429) and answers
 * lost after the service committed. Each request takes the next queued fault,
 * or none.
 */
export class HttpFaultProxy {
  readonly faults: Fault[] = [];
  /** Every request: when it came, what it was and what was done with it. */
  readonly requests: { at: number; method: string; url: string; body: string; fault?: Fault }[] =
    [];
  private server?: Server;

  constructor(private readonly target: string) {}

  get url(): string {
    return `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}`;
  }

  async start(): Promise<this> {
    this.server = createHttpServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const body = Buffer.concat(chunks);
        const fault = this.faults.shift();
        this.requests.push({
          at: Date.now(),
          method: req.method!,
          url: req.url!,
          body: body.toString(),
          fault,
        });
        if (fault && fault !== 'lose-answer') {
          res.writeHead(fault.status, {
            'content-type': 'application/json',
            ...(fault.retryAfter !== undefined && { 'retry-after': fault.retryAfter }),
          });
          res.end(JSON.stringify({ statusCode: fault.status, error: 'Fault', message: 'made up' }));
          return;
        }
        const upstream = request(
          `${this.target}${req.url}`,
          { method: req.method, headers: req.headers },
          (answer: IncomingMessage) => {
            if (fault === 'lose-answer') {
              answer.resume();
              answer.on('end', () => req.socket.destroy());
              return;
            }
            res.writeHead(answer.statusCode!, answer.headers);
            answer.pipe(res);
          },
        );
        upstream.on('error', () => req.socket.destroy());
        upstream.end(body);
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    return this;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise((resolve) => this.server?.close(resolve));
  }
}

/** A TCP proxy in front of the service whose connections (HTTP, SSE, WebSocket) can all be cut at once. */
export class TcpCutProxy {
  private server?: ReturnType<typeof createTcpServer>;
  private readonly open = new Set<Socket>();
  /** Connections accepted so far. */
  connections = 0;

  constructor(private readonly targetPort: number) {}

  get url(): string {
    return `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}`;
  }

  async start(): Promise<this> {
    this.server = createTcpServer((client) => {
      this.connections++;
      const upstream = connect(this.targetPort, '127.0.0.1');
      for (const socket of [client, upstream]) {
        this.open.add(socket);
        socket.on('close', () => this.open.delete(socket));
        socket.on('error', () => undefined);
      }
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    return this;
  }

  /** Cuts every open connection; new ones are accepted as before. */
  cutAll(): number {
    const count = this.open.size / 2;
    for (const socket of this.open) socket.destroy();
    return count;
  }

  async stop(): Promise<void> {
    this.cutAll();
    await new Promise((resolve) => this.server?.close(resolve));
  }
}
