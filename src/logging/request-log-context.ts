import { AsyncLocalStorage } from 'async_hooks';
import type { Logger } from 'pino';

/** The request being handled: its child logger (it carries the request id), built on first use. */
export class RequestLog {
  private child?: Logger;

  constructor(
    private readonly root: Logger,
    readonly requestId: string,
  ) {}

  get logger(): Logger {
    this.child ??= this.root.child({ requestId: this.requestId });
    return this.child;
  }
}

/** The current request's log, for logs made while handling it. */
export const requestLogContext = new AsyncLocalStorage<RequestLog>();
