/**
 * What `/metrics` reads the number of open WebSockets from, at scrape time.
 * The realtime module provides it, e.g.
 * `{ provide: WebSocketConnections, useExisting: SyncGateway }`; without a
 * provider the gauge reads 0.
 */
export abstract class WebSocketConnections {
  abstract readonly openConnections: number;
}
