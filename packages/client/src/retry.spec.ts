import {
  BadRequestError,
  NetworkError,
  RateLimitedError,
  retryAfterMs,
  ServiceUnavailableError,
} from './errors';
import { DEFAULT_RETRY, retryDelay } from './retry';

const headers = (retryAfter?: string) =>
  new Headers(retryAfter === undefined ? {} : { 'retry-after': retryAfter });
const unavailable = (retryAfter?: string) =>
  new ServiceUnavailableError(503, 'down', headers(retryAfter));

describe('retryDelay', () => {
  const options = { attempts: 4, baseDelayMs: 100, maxDelayMs: 5_000 };

  it('waits what Retry-After asks, on 503 and 429', () => {
    expect(retryDelay(unavailable('2'), 0, options)).toBe(2_000);
    expect(retryDelay(new RateLimitedError(429, 'slow', headers('0')), 0, options)).toBe(0);
  });

  it('gives up at once when Retry-After asks for more than maxDelayMs', () => {
    expect(retryDelay(unavailable('6'), 0, options)).toBeUndefined();
  });

  it('backs off exponentially with jitter, at most maxDelayMs, without Retry-After', () => {
    for (const [attempt, ceiling] of [
      [0, 100],
      [1, 200],
      [2, 400],
    ] as const) {
      expect(retryDelay(new NetworkError('lost'), attempt, options, () => 0)).toBe(ceiling / 2);
      expect(retryDelay(new NetworkError('lost'), attempt, options, () => 0.9999999)).toBe(ceiling);
    }
    const many = { ...options, attempts: 100 };
    expect(retryDelay(unavailable(), 40, many, () => 0.9999999)).toBe(5_000);
  });

  it('stops after the attempts, and never retries what a retry cannot cure', () => {
    expect(retryDelay(unavailable(), 3, options)).toBeUndefined();
    expect(retryDelay(new BadRequestError(400, 'bad'), 0, options)).toBeUndefined();
    expect(retryDelay(new Error('a bug'), 0, options)).toBeUndefined();
    expect(retryDelay(unavailable(), 0, { ...DEFAULT_RETRY, attempts: 1 })).toBeUndefined();
  });
});

describe('retryAfterMs', () => {
  it('reads delay-seconds and HTTP dates', () => {
    expect(retryAfterMs('3')).toBe(3_000);
    expect(retryAfterMs(' 0 ')).toBe(0);
    const inAMinute = new Date(Date.now() + 60_000).toUTCString();
    expect(retryAfterMs(inAMinute)).toBeGreaterThan(55_000);
    expect(retryAfterMs(new Date(0).toUTCString())).toBe(0);
  });

  it('ignores what it cannot read', () => {
    expect(retryAfterMs(null)).toBeUndefined();
    expect(retryAfterMs('')).toBeUndefined();
    expect(retryAfterMs('soon')).toBeUndefined();
    expect(retryAfterMs('-1')).toBeUndefined();
  });
});
