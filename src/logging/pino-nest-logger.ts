import type { LoggerService } from '@nestjs/common';
import type { Level, Logger } from 'pino';
import { requestLogContext } from './request-log-context';

/**
 * Nest's LoggerService on pino, so `new Logger('Auth').warn(...)` anywhere in
 * the code becomes a structured line (with the request id inside a request).
 */
export class PinoNestLogger implements LoggerService {
  constructor(private readonly root: Logger) {}

  log(message: unknown, ...params: unknown[]): void {
    this.write('info', message, params);
  }

  error(message: unknown, ...params: unknown[]): void {
    this.write('error', message, params);
  }

  warn(message: unknown, ...params: unknown[]): void {
    this.write('warn', message, params);
  }

  debug(message: unknown, ...params: unknown[]): void {
    this.write('debug', message, params);
  }

  verbose(message: unknown, ...params: unknown[]): void {
    this.write('trace', message, params);
  }

  fatal(message: unknown, ...params: unknown[]): void {
    this.write('fatal', message, params);
  }

  /** Nest appends the context name last, and for errors passes the stack before it. */
  private write(level: Level, message: unknown, params: unknown[]): void {
    if (!this.root.isLevelEnabled(level)) return;
    const logger = requestLogContext.getStore()?.logger ?? this.root;
    const rest = [...params];
    const fields: Record<string, unknown> = {};
    if (rest.length > 0 && typeof rest[rest.length - 1] === 'string') fields.context = rest.pop();
    if (level === 'error' && rest.length > 0) {
      const stack = rest.shift();
      if (typeof stack === 'string') fields.stack = stack;
    }
    if (rest.length > 0) fields.params = rest;
    if (message instanceof Error) {
      logger[level]({ ...fields, err: message }, message.message);
    } else if (typeof message === 'object' && message !== null) {
      logger[level]({ ...fields, ...message });
    } else {
      logger[level](fields, String(message));
    }
  }
}
