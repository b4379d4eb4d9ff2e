/**
 * Errors of the service's rules, thrown by services, policies and the store whoever calls
 * them (an HTTP route, the WebSocket gateway, a CLI). They know no HTTP: the exception
 * filter maps each kind to a status, with the same `{statusCode, error, message}` body.
 */
export type DomainErrorKind =
  'invalid' | 'unauthenticated' | 'forbidden' | 'not-found' | 'conflict' | 'unavailable';

export abstract class DomainError extends Error {
  abstract readonly kind: DomainErrorKind;

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** The request breaks a rule of the protocol (HTTP 400). */
export class InvalidInputError extends DomainError {
  readonly kind = 'invalid';
}

/** The caller's credentials are missing or not valid (HTTP 401). */
export class UnauthenticatedError extends DomainError {
  readonly kind = 'unauthenticated';
}

/** The caller may not do this (HTTP 403). */
export class ForbiddenError extends DomainError {
  readonly kind = 'forbidden';
}

/** What the request names does not exist, or not for this caller (HTTP 404). */
export class NotFoundError extends DomainError {
  readonly kind = 'not-found';
}

/** The request contradicts one made before (HTTP 422). */
export class ConflictError extends DomainError {
  readonly kind = 'conflict';
}

/** Something the rule needs cannot be had right now; retry after `retryAfterSeconds` (HTTP 503). */
export class UnavailableError extends DomainError {
  readonly kind = 'unavailable';

  constructor(
    message: string,
    readonly retryAfterSeconds = 5,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
