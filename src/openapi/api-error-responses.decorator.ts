import { applyDecorators } from '@nestjs/common';
import { ApiResponse } from '@nestjs/swagger';
import { MAX_BODY_TEXT } from '../common/wire-rules';
import { ErrorResponse } from './error-response.dto';

const DESCRIPTIONS: Record<number, string> = {
  400: 'Invalid input; the message names the field (and the change index)',
  401: 'Missing, expired or invalid bearer token',
  402: 'Sync subscription inactive (`error: "sync_inactive"`)',
  403: 'Write into a space the user is not a member of',
  408: 'The request head and body did not arrive within REQUEST_BODY_TIMEOUT_MS; the connection is closed',
  413: `Request body larger than ${MAX_BODY_TEXT}`,
  422: 'Idempotency-Key already used for a different request',
  429: 'Per-user rate limit exceeded; see the Retry-After header',
  503: 'Database or a dependency unavailable, or the request timed out; see Retry-After',
};

/** One error answer with the `{statusCode, error, message}` body; the description defaults to the common one. */
export function ApiErrorResponse(
  status: number,
  description = DESCRIPTIONS[status] ?? 'Error',
): MethodDecorator & ClassDecorator {
  return ApiResponse({ status, description, type: ErrorResponse });
}

/** Documents error answers of a route or controller, all with the `{statusCode, error, message}` body. */
export function ApiErrorResponses(...statuses: number[]): MethodDecorator & ClassDecorator {
  return applyDecorators(...statuses.map((status) => ApiErrorResponse(status)));
}
