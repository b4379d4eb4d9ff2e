import { ForbiddenException } from '@nestjs/common';
import { AuthenticatedUser } from '../auth/authenticated-user';
import { ServiceUnavailableError } from '../common/errors/http-errors';
import { personalSpaceId } from './membership-provider';

/**
 * A change may go into no space, the writer's personal space, or a space the
 * writer is a member of. When memberships could not be looked up, a shared
 * space cannot be checked: 503 (the client retries) rather than a false 403.
 */
export function assertMayWriteSpaces(
  user: AuthenticatedUser,
  spaceIds: readonly (string | null)[],
): void {
  const personal = personalSpaceId(user.userId);
  spaceIds.forEach((spaceId, index) => {
    if (spaceId === null || spaceId === personal || user.spaceIds.includes(spaceId)) return;
    if (user.membershipsAvailable === false) {
      throw new ServiceUnavailableError(
        'Space memberships cannot be checked right now, please retry shortly',
        30,
      );
    }
    throw new ForbiddenException(`changes[${index}].spaceId: not a member of space "${spaceId}"`);
  });
}
