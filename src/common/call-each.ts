import type { Logger } from '@nestjs/common';
import { errorMessage } from './error-message';

/**
 * Calls `call` for each listener; one that throws is logged and does not keep the others
 * from being called.
 */
export function callEach<L>(
  listeners: Iterable<L>,
  call: (listener: L) => void,
  logger: Logger,
  what: string,
): void {
  for (const listener of [...listeners]) {
    try {
      call(listener);
    } catch (error) {
      logger.error(`${what} failed: ${errorMessage(error)}`);
    }
  }
}
