import { createParamDecorator, ExecutionContext, UnauthorizedException } from '@nestjs/common';
import type { Request } from 'express';

/** Who a request acts for: set by AuthGuard, completed with memberships before the transaction opens. */
export interface AuthenticatedUser {
  userId: string;
  /** Space (organization) ids the user is a member of. */
  spaceIds: string[];
  /** False when the membership lookup failed (spaceIds is then a fail-open empty list). */
  membershipsAvailable?: boolean;
}

export type AuthenticatedRequest = Request & { user?: AuthenticatedUser };

export function requestUser(request: AuthenticatedRequest): AuthenticatedUser {
  if (!request.user?.userId) throw new UnauthorizedException('Authentication required');
  return request.user;
}

/** The authenticated user of the request (the route must be behind AuthGuard). */
export const CurrentUser = createParamDecorator(
  (_data: unknown, ctx: ExecutionContext): AuthenticatedUser =>
    requestUser(ctx.switchToHttp().getRequest<AuthenticatedRequest>()),
);
