import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { AuthenticatedRequest, requestUser } from '../auth/authenticated-user';
import { MembershipProvider } from './membership-provider';

/**
 * Completes the authenticated user with their space memberships before the
 * transaction opens (no HTTP while a connection is held).
 */
@Injectable()
export class MembershipGuard implements CanActivate {
  constructor(private readonly memberships: MembershipProvider) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const user = requestUser(context.switchToHttp().getRequest<AuthenticatedRequest>());
    const { spaceIds, available } = await this.memberships.membershipsOf(user.userId);
    user.spaceIds = spaceIds;
    user.membershipsAvailable = available;
    return true;
  }
}
