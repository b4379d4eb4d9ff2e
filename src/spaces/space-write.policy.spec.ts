import { UnavailableError } from '../common/errors/domain-errors';
import { personalSpaceId } from './membership-provider';
import { assertMayWriteSpaces, SpaceWriteRefusedError } from './space-write.policy';

describe('space-write policy', () => {
  const member = { userId: 'u1', spaceIds: ['team-a'], membershipsAvailable: true };

  it('allows no space, the personal space and spaces the writer is a member of', () => {
    expect(() =>
      assertMayWriteSpaces(member, [null, personalSpaceId('u1'), 'team-a', 'team-a']),
    ).not.toThrow();
  });

  it('refuses a space the writer is not in with 403 naming the first such change and space', () => {
    const error = catchError(() =>
      assertMayWriteSpaces(member, ['team-a', personalSpaceId('u2'), 'team-b']),
    );
    expect(error).toBeInstanceOf(SpaceWriteRefusedError);
    expect((error as SpaceWriteRefusedError).message).toBe(
      'changes[1].spaceId: not a member of space "_personal:u2"',
    );
  });

  it('answers 503 with Retry-After 30 for a shared space when memberships could not be looked up', () => {
    const unknown = { userId: 'u1', spaceIds: [], membershipsAvailable: false };
    expect(() => assertMayWriteSpaces(unknown, [null, personalSpaceId('u1')])).not.toThrow();
    const error = catchError(() => assertMayWriteSpaces(unknown, ['team-a']));
    expect(error).toBeInstanceOf(UnavailableError);
    expect((error as UnavailableError).retryAfterSeconds).toBe(30);
  });
});

function catchError(run: () => void): unknown {
  try {
    run();
  } catch (error) {
    return error;
  }
  throw new Error('expected a refusal');
}
