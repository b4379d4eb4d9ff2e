import { ForbiddenException, HttpException } from '@nestjs/common';
import { AuthenticatedUser } from '../auth/authenticated-user';
import { ServiceUnavailableError } from '../common/errors/http-errors';
import { assertMayWriteSpaces, SpaceWriteRefusedError } from '../spaces/space-write.policy';
import { BackupEvent } from './backup-format';

/**
 * The answer to an import that failed after some of its batches had
 * committed: they stay, and the answer says how far it got (`complete: false`).
 * Importing the same archive again skips the stored events and completes it.
 */
export function importIncomplete(cause: unknown, read: number, inserted: number): HttpException {
  const reason =
    cause instanceof HttpException ? cause.message : 'the database failed while writing';
  const body = {
    message: `The import stopped after storing ${inserted} of ${read} events (${reason}). Import the same archive again: stored events are skipped, so it completes`,
    complete: false,
    read,
    inserted,
  };
  if (cause instanceof HttpException) return new HttpException(body, cause.getStatus(), { cause });
  return new ImportInterruptedError(body);
}

/** A database failure midway: 503 with Retry-After, like every outage, and the import's progress. */
class ImportInterruptedError extends ServiceUnavailableError {
  constructor(private readonly body: { message: string }) {
    super(body.message);
  }

  override getResponse(): object {
    return this.body;
  }
}

/** Restores follow the same space rule as pushes; the message names the line. */
export function assertMayWrite(
  user: AuthenticatedUser,
  event: BackupEvent,
  lineNumber: number,
): void {
  try {
    assertMayWriteSpaces(user, [event.spaceId]);
  } catch (error) {
    if (error instanceof SpaceWriteRefusedError) {
      throw new ForbiddenException(
        `events.jsonl line ${lineNumber}: not a member of space "${event.spaceId}"`,
      );
    }
    throw error;
  }
}
