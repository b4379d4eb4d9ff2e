import type { LoggerService } from '@nestjs/common';

/** Nest's own progress lines: module by module, route by route. */
const FRAMEWORK_CONTEXTS = new Set([
  'NestFactory',
  'InstanceLoader',
  'RoutesResolver',
  'RouterExplorer',
  'WebSocketsController',
  'NestApplication',
]);

/** Where Nest logs a start-up failure that it then throws to the caller (abortOnError: false). */
const RETHROWN_CONTEXTS = new Set(['ExceptionHandler', 'NestApplication']);

/**
 * Keeps the start-up output to the lines a person acts on: Nest's progress
 * lines go to debug, and so do the errors Nest logs when start-up fails (a
 * stack, a failed listen), because main.ts says that failure in one line.
 */
export function quietFrameworkLogs(logger: LoggerService): LoggerService {
  const contextOf = (params: unknown[]): unknown => params[params.length - 1];
  const debug = (message: unknown, params: unknown[]): void =>
    logger.debug ? logger.debug(message, ...params) : undefined;
  return {
    log: (message, ...params) =>
      FRAMEWORK_CONTEXTS.has(contextOf(params) as string)
        ? debug(message, params)
        : logger.log(message, ...params),
    error: (message, ...params) =>
      RETHROWN_CONTEXTS.has(contextOf(params) as string)
        ? debug(message, params)
        : logger.error(message, ...params),
    warn: (message, ...params) => logger.warn(message, ...params),
    debug: (message, ...params) => logger.debug?.(message, ...params),
    verbose: (message, ...params) => logger.verbose?.(message, ...params),
    fatal: (message, ...params) => logger.fatal?.(message, ...params),
  };
}
