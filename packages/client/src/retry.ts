import { isRetryable, SyncHttpError } from './errors.js';

/** How failed requests are tried again (pushes, pulls, imports). */
export interface RetryOptions {
  /** Tries in all, the first included (default 5); 1 turns retries off. */
  attempts?: number;
  /** The first wait without a `Retry-After`, doubled each time; half of each wait is random (default 250 ms). */
  baseDelayMs?: number;
  /** The longest wait; a `Retry-After` beyond it ends the retries (default 30 s). */
  maxDelayMs?: number;
}

export const DEFAULT_RETRY: Required<RetryOptions> = {
  attempts: 5,
  baseDelayMs: 250,
  maxDelayMs: 30_000,
};

/**
 * The wait before try number `attempt + 1`, or undefined when there is none:
 * the error is not retryable, the tries are used up, or the service asks for a
 * longer wait than `maxDelayMs`. A `Retry-After` is honoured as given; without
 * one the wait is exponential, its second half random (so clients that failed
 * together do not come back together).
 */
export function retryDelay(
  error: unknown,
  attempt: number,
  options: Required<RetryOptions>,
  random: () => number = Math.random,
): number | undefined {
  if (!isRetryable(error) || attempt + 1 >= options.attempts) return undefined;
  const asked = error instanceof SyncHttpError ? error.retryAfterMs : undefined;
  if (asked !== undefined) return asked <= options.maxDelayMs ? asked : undefined;
  const ceiling = Math.min(options.maxDelayMs, options.baseDelayMs * 2 ** attempt);
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

/** Resolves after `ms`, or rejects with the signal's reason once it aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
