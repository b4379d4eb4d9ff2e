import {
  ConflictError,
  DomainError,
  ForbiddenError,
  InvalidInputError,
  NotFoundError,
  UnauthenticatedError,
  UnavailableError,
} from './domain-errors';
import { ServiceUnavailableError } from './http-errors';
import { httpExceptionOf, toErrorBody } from './http-exception.filter';

describe('domain errors as HTTP answers', () => {
  it.each([
    [new InvalidInputError('bad'), 400, 'Bad Request'],
    [new UnauthenticatedError('who'), 401, 'Unauthorized'],
    [new ForbiddenError('no'), 403, 'Forbidden'],
    [new NotFoundError('none'), 404, 'Not Found'],
    [new ConflictError('again'), 422, 'Unprocessable Entity'],
    [new UnavailableError('later'), 503, 'Service Unavailable'],
  ] as [DomainError, number, string][])('%s is %i %s with its message', (error, status, name) => {
    expect(toErrorBody(httpExceptionOf(error))).toEqual({
      statusCode: status,
      error: name,
      message: error.message,
    });
  });

  it("keeps an unavailable error's Retry-After and the error as the cause", () => {
    const error = new UnavailableError('later', 30);
    const http = httpExceptionOf(error);
    expect(http).toBeInstanceOf(ServiceUnavailableError);
    expect((http as ServiceUnavailableError).retryAfterSeconds).toBe(30);
    expect(http.cause).toBe(error);
  });

  it('names each error by its class, for logs', () => {
    class SpecificError extends ForbiddenError {}
    expect(new SpecificError('x').name).toBe('SpecificError');
  });
});
