import type { ErrorResponse } from './types.js';

/** Every error this client throws, and passes to `onError`. */
export class SyncError extends Error {
  override name = 'SyncError';
}

/** The service answered with an error status. */
export class SyncHttpError extends SyncError {
  override name = 'SyncHttpError';
  /** The HTTP status. */
  readonly status: number;
  /** The answer's `error`: the reason phrase, or a code such as `sync_inactive`. */
  readonly code: string;
  /** The answer's body: `{statusCode, error, message}`, or its text when it was not JSON. */
  readonly body: ErrorResponse | string;
  /** `Retry-After` of the answer, in milliseconds. */
  readonly retryAfterMs?: number;
  /** `X-Request-Id` of the answer: the service's log line of the request carries it. */
  readonly requestId?: string;

  constructor(status: number, body: ErrorResponse | string, headers?: Headers) {
    const message = typeof body === 'object' ? body.message : body;
    super(`${status} ${message || 'error'}`.trim());
    this.status = status;
    this.body = body;
    this.code = typeof body === 'object' ? body.error : '';
    this.retryAfterMs = headers ? retryAfterMs(headers.get('retry-after')) : undefined;
    this.requestId = headers?.get('x-request-id') ?? undefined;
  }
}

/** 400: invalid input; the message names the field (and the change index). */
export class BadRequestError extends SyncHttpError {
  override name = 'BadRequestError';
}
/** 401: no token, or an invalid, expired or unknown-key one. */
export class UnauthorizedError extends SyncHttpError {
  override name = 'UnauthorizedError';
}
/** 402: sync is not active for this account (`code` is `sync_inactive`). */
export class SyncInactiveError extends SyncHttpError {
  override name = 'SyncInactiveError';
}
/** 403: a change into a space the user is not a member of. */
export class ForbiddenError extends SyncHttpError {
  override name = 'ForbiddenError';
}
/** 413: the request body is larger than the service takes (a push: 10 MB). */
export class PayloadTooLargeError extends SyncHttpError {
  override name = 'PayloadTooLargeError';
}
/** 429: over the per-user rate limit; see `retryAfterMs`. */
export class RateLimitedError extends SyncHttpError {
  override name = 'RateLimitedError';
}
/** 503: the database or a dependency is unavailable, or the service is stopping; see `retryAfterMs`. */
export class ServiceUnavailableError extends SyncHttpError {
  override name = 'ServiceUnavailableError';
}

/** The request did not get an answer (connection refused or lost, DNS, CORS), or the answer broke off. */
export class NetworkError extends SyncError {
  override name = 'NetworkError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

const BY_STATUS: Record<number, typeof SyncHttpError> = {
  400: BadRequestError,
  401: UnauthorizedError,
  402: SyncInactiveError,
  403: ForbiddenError,
  413: PayloadTooLargeError,
  429: RateLimitedError,
  503: ServiceUnavailableError,
};

/** The typed error of an error answer. */
export function httpError(
  status: number,
  body: ErrorResponse | string,
  headers?: Headers,
): SyncHttpError {
  const Type = BY_STATUS[status] ?? SyncHttpError;
  return new Type(status, body, headers);
}

/** Errors a retry may cure: no answer, 429 and 503. */
export function isRetryable(error: unknown): boolean {
  return (
    error instanceof NetworkError ||
    error instanceof RateLimitedError ||
    error instanceof ServiceUnavailableError
  );
}

/** `Retry-After` as milliseconds: delay-seconds or an HTTP date. */
export function retryAfterMs(value: string | null): number | undefined {
  if (value === null) return undefined;
  if (/^\s*\d+\s*$/.test(value)) return Number(value.trim()) * 1000;
  // An HTTP date names its month ("Wed, 21 Oct 2026 07:28:00 GMT"); Date.parse would take "-1" too.
  if (!/[a-z]{3}/i.test(value)) return undefined;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}
