import { IncomingMessage, ServerResponse } from 'http';
import { FakeHttpServer } from './fake-http-server';

/** The credits service, faked as a real HTTP server on 127.0.0.1: who has an active sync subscription. */
export class FakeCreditsServer extends FakeHttpServer {
  readonly inactiveUsers = new Set<string>();
  requests = 0;
  failWith?: number;
  serviceKey = 'test-service-key';

  protected override handle(req: IncomingMessage, res: ServerResponse): void {
    const match = /^\/api\/v1\/internal\/sync\/status\/([^/]+)$/.exec(req.url ?? '');
    if (!match) {
      res.statusCode = 404;
      res.end();
      return;
    }
    this.requests++;
    const userId = decodeURIComponent(match[1]);
    if (req.headers['x-service-key'] !== this.serviceKey) res.statusCode = 401;
    else if (this.failWith) res.statusCode = this.failWith;
    const active = !this.inactiveUsers.has(userId);
    res.setHeader('content-type', 'application/json');
    res.end(
      JSON.stringify({
        active,
        interval: 'month',
        pausedAt: active ? null : '2026-11-01T00:00:00Z',
      }),
    );
  }
}
