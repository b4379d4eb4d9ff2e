import { AsyncLocalStorage } from 'async_hooks';
import type { Logger } from 'pino';

/** The request's child logger (it carries the request id), for logs made while handling it. */
export const requestLogContext = new AsyncLocalStorage<Logger>();
