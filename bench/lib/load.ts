import { nowMs, sleep, summarize, Summary } from './stats';
import { errorMessage } from '../../src/common/error-message';

export interface ClosedLoopOptions {
  /** Concurrent workers, each with one operation in flight at a time. */
  workers: number;
  /** Operations completing before this are not counted (connections, caches, JIT). */
  warmupMs: number;
  /** Measured window after the warm-up. */
  durationMs: number;
  /** One operation of worker `worker`; resolves with the number of items it carried (changes, rows). */
  operation: (worker: number) => Promise<number>;
  /** The loop gives up after this many failed operations. */
  maxErrors?: number;
}

export interface ClosedLoopResult {
  workers: number;
  /** Operations completed inside the measured window. */
  operations: number;
  items: number;
  windowMs: number;
  itemsPerSecond: number;
  operationsPerSecond: number;
  latencyMs: Summary;
  errors: number;
  firstError?: string;
}

/**
 * N workers, each starting its next operation as soon as the previous one is
 * done (like N clients that each wait for their answer). Bounded in time:
 * nothing starts after the window closes, and operations still running then
 * are awaited but not counted.
 */
export async function closedLoop(options: ClosedLoopOptions): Promise<ClosedLoopResult> {
  const maxErrors = options.maxErrors ?? 50;
  const start = nowMs();
  const windowStart = start + options.warmupMs;
  const windowEnd = windowStart + options.durationMs;
  const latencies: number[] = [];
  let items = 0;
  let operations = 0;
  let errors = 0;
  let firstError: string | undefined;

  const worker = async (index: number): Promise<void> => {
    while (nowMs() < windowEnd && errors < maxErrors) {
      const begin = nowMs();
      try {
        const carried = await options.operation(index);
        const end = nowMs();
        if (begin >= windowStart && end <= windowEnd) latencies.push(end - begin);
        if (end >= windowStart && end <= windowEnd) {
          operations++;
          items += carried;
        }
      } catch (error) {
        errors++;
        firstError ??= errorMessage(error);
        await sleep(20);
      }
    }
  };
  await Promise.all(Array.from({ length: options.workers }, (_, i) => worker(i)));
  const windowMs = Math.min(options.durationMs, Math.max(1, nowMs() - windowStart));
  return {
    workers: options.workers,
    operations,
    items,
    windowMs,
    itemsPerSecond: (items * 1000) / windowMs,
    operationsPerSecond: (operations * 1000) / windowMs,
    latencyMs: summarize(latencies),
    errors,
    firstError,
  };
}

/** Runs `operation` `count` times one after another (after `warmup` unmeasured runs). */
export async function serialLoop(options: {
  warmup: number;
  count: number;
  maxMs: number;
  operation: (i: number) => Promise<void>;
}): Promise<{ latencyMs: Summary; samples: number; errors: number; firstError?: string }> {
  const deadline = nowMs() + options.maxMs;
  const latencies: number[] = [];
  let errors = 0;
  let firstError: string | undefined;
  for (let i = 0; i < options.warmup + options.count && nowMs() < deadline; i++) {
    const begin = nowMs();
    try {
      await options.operation(i);
      if (i >= options.warmup) latencies.push(nowMs() - begin);
    } catch (error) {
      errors++;
      firstError ??= errorMessage(error);
      if (errors > 20) break;
    }
  }
  return { latencyMs: summarize(latencies), samples: latencies.length, errors, firstError };
}
