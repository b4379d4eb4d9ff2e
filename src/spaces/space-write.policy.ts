import { AuthenticatedUser } from '../auth/authenticated-user';
import { ForbiddenError, UnavailableError } from '../common/errors/domain-errors';
import { personalSpaceId } from './membership-provider';

/** A change names a space its writer is not a member of. */
export class SpaceWriteRefusedError extends ForbiddenError {}

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
      throw new UnavailableError(
        'Space memberships cannot be checked right now, please retry shortly',
        30,
      );
    }
    throw new SpaceWriteRefusedError(
      `changes[${index}].spaceId: not a member of space "${spaceId}"`,
    );
  });
}
